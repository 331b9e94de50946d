r"""Conversions between PyG graphs and DGL graphs, so that every entry point taking a PyG graph takes a DGL one.

:func:`to_dgl` / :func:`from_dgl` build on PyG's ``torch_geometric.utils.to_dgl`` / ``from_dgl`` (after
:func:`graphcl.compat.dgl.import_dgl`, so DGL 2.1 imports on today's torch) and add what those miss:

* **every** node-level tensor (``x``, ``y``, masks, ``node_type``, ``kg_entity``, ...) goes to ``ndata`` and every
  edge-level tensor (``edge_attr``, ``edge_type``, ``kg_relation``, ``edge_weight``, ...) to ``edata``, edge order
  preserved (DGL edge id ``e`` = column ``e`` of ``edge_index``), dtypes kept;
* **graph-level attributes** (anything neither node- nor edge-level: a molecule's ``y`` of shape ``[1, T]``, its
  ``smiles`` string, its ``row`` number, ...) are kept in a plain Python ``dict`` on the DGL graph object, the
  attribute named by :data:`GRAPH_DATA` (``g.graph_data``). DGL has no graph-level storage: DGL operations that
  return a new graph (``dgl.add_self_loop``, ``dgl.batch``, ...) drop it; use :func:`batch_dgl` /
  :func:`unbatch_dgl` to batch with it. On a batched graph ``g.graph_data`` is a list with one dict per graph;
* **batched graphs**: :func:`from_dgl` turns a batched DGL graph (``dgl.batch`` or :func:`batch_dgl`) into a PyG
  :class:`~torch_geometric.data.Batch` (``batch``, ``ptr``, ``num_graphs``; graph-level tensors concatenated like
  :meth:`Batch.from_data_list` does), and :func:`to_dgl` turns a PyG ``Batch`` into a batched DGL graph;
* **heterogeneous graphs**: :class:`~torch_geometric.data.HeteroData` <-> DGL heterograph with the same node and
  edge types, node counts of types without edges or features included, and per-type attributes in ``data`` of
  ``g.nodes[ntype]`` / ``g.edges[etype]``.

How an attribute of a homogeneous :class:`~torch_geometric.data.Data` (``N`` nodes, ``E`` edges) is classified:

1. ``edge_index`` gives the structure; ``num_nodes`` the node count (also restored by :func:`from_dgl` when the
   graph has no node data to infer it from);
2. keys in ``graph_keys``, values that are not tensors, 0-d tensors, keys containing ``"index"`` or ``"face"``,
   and ``y`` of shape ``[1, T]`` (the molecule convention, even for a one-atom molecule) are graph-level;
3. keys in :data:`EDGE_KEYS` or containing ``"edge"`` with ``E`` rows are edge-level, keys in
   :data:`NODE_KEYS` with ``N`` rows are node-level;
4. otherwise a tensor with ``N`` rows is node-level, else with ``E`` rows edge-level, else graph-level.

Example:
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> data = Data(x=torch.randn(3, 4), edge_index=torch.tensor([[0, 1], [1, 2]]),
    ...             edge_attr=torch.randn(2, 5), y=torch.tensor([[1.0, 0.0]]), smiles="CCO")
    >>> g = to_dgl(data)
    >>> sorted(g.ndata), sorted(g.edata), sorted(g.graph_data)
    (['x'], ['edge_attr'], ['smiles', 'y'])
    >>> sorted(from_dgl(g).keys())
    ['edge_attr', 'edge_index', 'smiles', 'x', 'y']
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterable, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data, HeteroData

from .dgl import import_dgl

if TYPE_CHECKING:  # DGL is imported lazily, through import_dgl()
    from dgl import DGLGraph

__all__ = ["GRAPH_DATA", "NODE_KEYS", "EDGE_KEYS", "to_dgl", "from_dgl", "as_pyg", "is_dgl_graph", "batch_dgl",
           "unbatch_dgl"]

#: Name of the Python attribute of a DGL graph that holds its graph-level attributes (a dict; a list of dicts,
#: one per graph, on a batched graph).
GRAPH_DATA = "graph_data"
#: Keys always node-level when they have one row per node.
NODE_KEYS = frozenset({"x", "pos", "node_type", "kg_entity", "train_mask", "val_mask", "test_mask", "n_id"})
#: Keys always edge-level when they have one row per edge (as is any key containing ``"edge"``).
EDGE_KEYS = frozenset({"edge_attr", "edge_type", "edge_weight", "kg_relation", "e_id"})

PyGGraph = Union[Data, HeteroData]
# DGL's names for the single node and edge type of a homogeneous graph
_DGL_NTYPE, _DGL_ETYPE = "_N", "_E"


def is_dgl_graph(obj: Any) -> bool:
    """Whether ``obj`` is a ``dgl.DGLGraph`` (without importing DGL: if DGL was never imported, it cannot be)."""
    dgl = sys.modules.get("dgl")
    cls = getattr(dgl, "DGLGraph", None) if dgl is not None else None
    return cls is not None and isinstance(obj, cls)


def _rows(value: Any) -> int | None:
    return int(value.shape[0]) if isinstance(value, Tensor) and value.dim() > 0 else None


def _level(key: str, value: Any, node_rows: bool, edge_rows: bool, one_row: bool, graph_keys: frozenset) -> str:
    """'node', 'edge' or 'graph' for one attribute of a homogeneous graph (rules in the module docstring);
    ``node_rows`` / ``edge_rows``: the value has one row per node / edge; ``one_row``: it has one row."""
    if (key in graph_keys or _rows(value) is None or "index" in key or "face" in key
            or (key == "y" and value.dim() == 2 and one_row)):
        return "graph"
    if (key in EDGE_KEYS or "edge" in key) and edge_rows:
        return "edge"
    if node_rows:
        return "node"
    return "edge" if edge_rows else "graph"


def _levels(data: Data, graph_keys: frozenset) -> dict[str, str]:
    """The level of every attribute of ``data``; for a ``Batch``, one level per key for all its graphs (decided on
    the per-graph row counts, so that every graph of the batch gets the same DGL schema)."""
    skip = ("edge_index", "num_nodes")
    if not isinstance(data, Batch):
        n = int(data.num_nodes) if data.num_nodes is not None else 0
        e = int(data.edge_index.shape[1]) if data.edge_index is not None else 0
        return {key: _level(key, value, _rows(value) == n, _rows(value) == e, _rows(value) == 1, graph_keys)
                for key, value in data.items() if key not in skip}
    slices = data._slice_dict
    nodes = torch.diff(data.ptr.cpu())
    edges = torch.diff(slices["edge_index"]) if "edge_index" in slices else torch.zeros_like(nodes)
    levels = {}
    for key, value in data.items():
        if key in skip or key in ("batch", "ptr"):  # the Batch's own bookkeeping: rebuilt from the graphs
            continue
        rows = torch.diff(slices[key]) if key in slices and isinstance(value, Tensor) else None
        if rows is None or data.__cat_dim__(key, value) != 0:
            levels[key] = "graph"
            continue
        levels[key] = _level(key, value, bool(torch.equal(rows, nodes)), bool(torch.equal(rows, edges)),
                             bool((rows == 1).all()), graph_keys)
    return levels


def _homogeneous_to_dgl(data: Data, levels: dict[str, str]):
    from torch_geometric.utils import to_dgl as pyg_to_dgl

    edge_index = data.edge_index
    if edge_index is None:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    edge_index = edge_index.as_subclass(Tensor)
    num_nodes = int(data.num_nodes) if data.num_nodes is not None else 0
    # PyG's converter builds the structure (and would copy what its own heuristics call node/edge attributes:
    # we pass none and place them ourselves, see the module docstring)
    g = pyg_to_dgl(Data(edge_index=edge_index, num_nodes=num_nodes))
    graph_data: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("edge_index", "num_nodes"):
            continue
        level = levels.get(key, "graph")
        if level == "node":
            g.ndata[key] = value
        elif level == "edge":
            g.edata[key] = value
        else:
            graph_data[key] = value
    setattr(g, GRAPH_DATA, graph_data)
    return g


def _hetero_num_nodes(store) -> int:
    """A node store's node count: ``num_nodes`` when set, else the rows of ``x`` (or of its first tensor)."""
    if "num_nodes" in store:
        return int(store.num_nodes)
    tensors = [v for k, v in store.items() if _rows(v) is not None]
    first = store["x"] if "x" in store and _rows(store["x"]) is not None else (tensors[0] if tensors else None)
    return 0 if first is None else int(first.shape[0])


def _hetero_to_dgl(data: HeteroData):
    dgl = import_dgl()
    structure, graph_data = {}, {}
    for edge_type, store in data.edge_items():
        edge_index = store.get("edge_index")
        if edge_index is None:
            raise ValueError(f"Expected an 'edge_index' for edge type {edge_type} (got keys {sorted(store.keys())})")
        edge_index = edge_index.as_subclass(Tensor)
        structure[edge_type] = (edge_index[0], edge_index[1])
    num_nodes = {node_type: _hetero_num_nodes(store) for node_type, store in data.node_items()}
    g = dgl.heterograph(structure, num_nodes_dict=num_nodes)
    for node_type, store in data.node_items():
        for key, value in store.items():
            if key == "num_nodes":
                continue
            if _rows(value) == num_nodes[node_type]:
                g.nodes[node_type].data[key] = value
            else:
                graph_data[(node_type, key)] = value
    for edge_type, store in data.edge_items():
        for key, value in store.items():
            if key == "edge_index":
                continue
            if _rows(value) == g.num_edges(edge_type):
                g.edges[edge_type].data[key] = value
            else:
                graph_data[(edge_type, key)] = value
    graph_data.update(dict(data.items()))  # global attributes of the HeteroData
    setattr(g, GRAPH_DATA, graph_data)
    return g


def to_dgl(data: PyGGraph, *, graph_keys: Iterable[str] = ()) -> DGLGraph:
    r"""Convert a PyG :class:`~torch_geometric.data.Data` / :class:`~torch_geometric.data.HeteroData` (or a
    :class:`~torch_geometric.data.Batch` of them) to a ``dgl.DGLGraph``.

    Node-level tensors go to ``ndata``, edge-level tensors to ``edata`` (edge ``e`` = column ``e`` of
    ``edge_index``), everything else to the dict ``g.graph_data`` (see the module docstring for the rules). A
    ``Batch`` becomes a batched DGL graph (:func:`batch_dgl` of its graphs).

    Args:
        data (Data or HeteroData or Batch): the graph.
        graph_keys (Iterable[str], optional): keys to keep graph-level whatever their shape (e.g. ``("y",)`` for
            a graph label of shape ``[1]`` on one-node graphs). (default: :obj:`()`)
    """
    import_dgl()  # PyG's converter imports dgl itself: make it importable first
    if isinstance(data, Batch):
        if not isinstance(data, Data):  # a batch of HeteroData
            return batch_dgl([_hetero_to_dgl(d) for d in data.to_data_list()])
        levels = _levels(data, frozenset(graph_keys))
        return batch_dgl([_homogeneous_to_dgl(d, levels) for d in data.to_data_list()])
    if isinstance(data, HeteroData):
        return _hetero_to_dgl(data)
    if isinstance(data, Data):
        return _homogeneous_to_dgl(data, _levels(data, frozenset(graph_keys)))
    raise TypeError(f"Expected 'data' to be a torch_geometric Data or HeteroData (got {type(data).__name__})")


def _is_homogeneous(g) -> bool:
    return g.ntypes == [_DGL_NTYPE] and g.canonical_etypes == [(_DGL_NTYPE, _DGL_ETYPE, _DGL_NTYPE)]


def _single_from_dgl(g, graph_data: dict) -> PyGGraph:
    from torch_geometric.utils import from_dgl as pyg_from_dgl

    if _is_homogeneous(g):
        data = pyg_from_dgl(g)  # edge_index in edge-id order, then every ndata / edata tensor
        if not g.ndata:
            data.num_nodes = g.num_nodes()
        for key, value in graph_data.items():
            data[key] = value
        return data
    # PyG's from_dgl copies DGL's feature *schemes* (not the tensors) of heterograph edges: done here instead
    data = HeteroData()
    for node_type in g.ntypes:
        for key, value in g.nodes[node_type].data.items():
            data[node_type][key] = value
        if not g.nodes[node_type].data:
            data[node_type].num_nodes = g.num_nodes(node_type)
    for edge_type in g.canonical_etypes:
        src, dst = g.edges(form="uv", order="eid", etype=edge_type)
        data[edge_type].edge_index = torch.stack([src, dst])
        for key, value in g.edges[edge_type].data.items():
            data[edge_type][key] = value
    for key, value in graph_data.items():
        if isinstance(key, tuple):
            data[key[0]][key[1]] = value
        else:
            data[key] = value
    return data


def from_dgl(graph: DGLGraph) -> PyGGraph:
    r"""Convert a ``dgl.DGLGraph`` to PyG: the inverse of :func:`to_dgl`.

    A homogeneous graph gives a :class:`~torch_geometric.data.Data` (``edge_index`` in DGL edge-id order, every
    ``ndata`` / ``edata`` tensor under its name, ``g.graph_data`` entries as graph-level attributes); a
    heterograph gives a :class:`~torch_geometric.data.HeteroData`; a batched graph (``batch_size > 1``, or a
    list in ``g.graph_data`` as :func:`batch_dgl` leaves) gives a :class:`~torch_geometric.data.Batch`.

    Args:
        graph (dgl.DGLGraph): the graph.
    """
    dgl = import_dgl()
    if not isinstance(graph, dgl.DGLGraph):
        raise TypeError(f"Expected 'graph' to be a dgl.DGLGraph (got {type(graph).__name__})")
    graph_data = getattr(graph, GRAPH_DATA, None)
    if graph.batch_size > 1 or isinstance(graph_data, list):
        return Batch.from_data_list([_single_from_dgl(g, getattr(g, GRAPH_DATA, None) or {})
                                     for g in unbatch_dgl(graph)])
    return _single_from_dgl(graph, graph_data or {})


def batch_dgl(graphs: list[DGLGraph]) -> DGLGraph:
    """``dgl.batch(graphs)`` that keeps each graph's ``graph_data`` (as a list, one dict per graph, on the result).

    Args:
        graphs (list[dgl.DGLGraph]): the graphs (batched ones are flattened, as ``dgl.batch`` does).
    """
    dgl = import_dgl()
    if not graphs:
        raise ValueError(f"Expected 'graphs' to hold at least one graph (got {len(graphs)})")
    out = dgl.batch(graphs)
    graph_data: list[dict] = []
    for g in graphs:  # one entry per graph (a loop over graphs, not nodes)
        entry = getattr(g, GRAPH_DATA, None)
        if isinstance(entry, list):
            graph_data.extend(entry)
        else:
            graph_data.extend([entry or {}] if g.batch_size == 1 else [{} for _ in range(g.batch_size)])
    setattr(out, GRAPH_DATA, graph_data)
    return out


def unbatch_dgl(graph: DGLGraph) -> list[DGLGraph]:
    """``dgl.unbatch(graph)`` that gives each graph back its ``graph_data`` dict (when :func:`batch_dgl` left one).

    Args:
        graph (dgl.DGLGraph): a batched graph.
    """
    dgl = import_dgl()
    graphs = dgl.unbatch(graph)
    graph_data = getattr(graph, GRAPH_DATA, None)
    if isinstance(graph_data, list) and len(graph_data) != len(graphs):
        raise ValueError(f"Expected one '{GRAPH_DATA}' entry per graph ({len(graphs)}) "
                         f"(got {len(graph_data)})")
    for i, g in enumerate(graphs):
        setattr(g, GRAPH_DATA, dict(graph_data[i]) if isinstance(graph_data, list) else {})
    return graphs


def as_pyg(graph_or_data: Any) -> PyGGraph:
    """The PyG graph for ``graph_or_data``: itself for a PyG ``Data`` / ``HeteroData`` (including a ``Batch``),
    :func:`from_dgl` of it for a ``dgl.DGLGraph``.

    Args:
        graph_or_data (Data or HeteroData or dgl.DGLGraph): the graph.

    Raises:
        TypeError: for anything else.
    """
    if isinstance(graph_or_data, (Data, HeteroData)):
        return graph_or_data
    if is_dgl_graph(graph_or_data):
        return from_dgl(graph_or_data)
    raise TypeError(f"Expected a torch_geometric Data / HeteroData or a dgl.DGLGraph "
                    f"(got {type(graph_or_data).__module__}.{type(graph_or_data).__name__})")
