"""Users' own graphs: ``load_graph_file(path, features=None, labels=None)`` turns a graph file into a PyG ``Data``.

Formats, by suffix:

* ``.pt`` / ``.pth``: a PyG ``Data`` (or a homogeneous DGL graph) saved with ``torch.save``. The file is unpickled
  (``torch.load(weights_only=False)``): load only files you trust. The graph is used as saved.
* ``.csv`` / ``.tsv`` / ``.txt``: an edge list, one edge per line, two integer node ids (0-based), comma-, tab- or
  whitespace-separated; an optional header line; blank lines and lines starting with ``#`` are skipped. Edges are
  made undirected, self-loops dropped and duplicates merged (as the registry's loaders do).
* ``.bin`` / ``.dgl``: a file of ``dgl.save_graphs`` holding one homogeneous graph (``ndata`` -> ``x``, ``y``, ...).

``features`` (``.npy``, or ``.csv``/``.tsv``/``.txt`` with an optional header: one row per node) and ``labels``
(``.npy`` or text, one non-negative integer per node) replace or add ``x`` and ``y``. A graph without features
gets a one-hot encoding of each node's degree (capped at 63, as PyG's ``OneHotDegree``). Everything is checked
before training; each problem is a one-line ``ValueError`` naming the file, the line or row, and the values.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, degree, remove_self_loops, to_undirected

from .loaders import validate_graph

GRAPH_FILE_SUFFIXES = {".pt": "pyg", ".pth": "pyg", ".csv": "edges", ".tsv": "edges", ".txt": "edges",
                       ".bin": "dgl", ".dgl": "dgl"}
MAX_DEGREE_FEATURE = 63

__all__ = ["GRAPH_FILE_SUFFIXES", "is_graph_file", "load_graph_file"]


def is_graph_file(name: str | os.PathLike) -> bool:
    """Whether ``--dataset`` names a file (a known suffix or a path separator) rather than a registry dataset."""
    text = str(name)
    return Path(text).suffix.lower() in GRAPH_FILE_SUFFIXES or os.sep in text or bool(os.altsep and os.altsep in text)


def _delimiter(path: Path) -> str | None:
    return {".csv": ",", ".tsv": "\t"}.get(path.suffix.lower())  # None: any whitespace


def _rows(path: Path):
    """``(line number, fields)`` of a text table's non-empty, non-comment lines."""
    delim = _delimiter(path)
    with open(path, newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if text and not text.startswith("#"):
                yield lineno, [f.strip() for f in (text.split(delim) if delim else text.split())]


def _read_edge_list(path: Path) -> np.ndarray:
    pairs: list[tuple[int, int]] = []
    first = True
    for lineno, fields in _rows(path):
        if len(fields) != 2:
            raise ValueError(f"{path}, line {lineno}: expected two columns (source, target node id), got "
                             f"{len(fields)}: {','.join(fields)[:80]!r}")
        try:
            a, b = int(fields[0]), int(fields[1])
        except ValueError:
            if first:  # a header
                first = False
                continue
            raise ValueError(f"{path}, line {lineno}: node ids must be integers (got {fields[0]!r}, {fields[1]!r})")
        first = False
        if a < 0 or b < 0:
            raise ValueError(f"{path}, line {lineno}: node ids must be >= 0 (got {a}, {b})")
        pairs.append((a, b))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _read_table(path: Path, what: str) -> np.ndarray:
    """A numeric table: ``.npy``, else text with an optional header line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{what} file {path} is not a numeric .npy array ({err})") from err
    rows, width, first = [], None, True
    for lineno, fields in _rows(path):
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if first:
                first = False
                continue
            raise ValueError(f"{what} file {path}, line {lineno}: not a number in {','.join(fields)[:80]!r}")
        first = False
        if width is not None and len(values) != width:
            raise ValueError(f"{what} file {path}, line {lineno}: {len(values)} columns, earlier rows have {width}")
        width = len(values)
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), width or 0)


def _features(path: Path, num_nodes: int | None) -> torch.Tensor:
    x = _read_table(path, "features")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise ValueError(f"features file {path}: expected a numeric [nodes, features] table (got {x.dtype} "
                         f"of shape {list(x.shape)})")
    bad = ~np.isfinite(x.astype(np.float64)).all(axis=1)
    if bad.any():
        raise ValueError(f"features file {path}: NaN or infinite values in {int(bad.sum())} rows (first: row "
                         f"{int(np.flatnonzero(bad)[0])})")
    if num_nodes is not None and x.shape[0] != num_nodes:
        raise ValueError(f"features file {path} has {x.shape[0]} rows but the graph has {num_nodes} nodes")
    return torch.as_tensor(x, dtype=torch.float32)


def _labels(path: Path, num_nodes: int | None) -> torch.Tensor:
    y = _read_table(path, "labels")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.dtype.kind not in "biuf":
        raise ValueError(f"labels file {path}: expected one class label per node (got shape {list(y.shape)})")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        row = int(np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))[0])
        raise ValueError(f"labels file {path}: labels must be integers (row {row} is {y[row]})")
    if len(y) and y.min() < 0:
        raise ValueError(f"labels file {path}: labels must be >= 0 (row {int(np.argmin(y))} is {int(y.min())})")
    if num_nodes is not None and len(y) != num_nodes:
        raise ValueError(f"labels file {path} has {len(y)} labels but the graph has {num_nodes} nodes")
    return torch.as_tensor(y.astype(np.int64))


def _degree_features(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    deg = degree(edge_index[0], num_nodes, dtype=torch.long).clamp(max=MAX_DEGREE_FEATURE)
    return torch.nn.functional.one_hot(deg, MAX_DEGREE_FEATURE + 1).float()


def _from_torch_file(path: Path) -> Data:
    from ..compat.dgl_convert import as_pyg

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise ValueError(f"{path} is not a readable torch.save file ({type(err).__name__}: "
                         f"{(str(err).splitlines() or [''])[0][:160]})") from err
    if isinstance(obj, (list, tuple)) and len(obj) == 1:
        obj = obj[0]
    try:
        data = as_pyg(obj)
    except TypeError:
        data = obj
    if not isinstance(data, Data):
        raise ValueError(f"{path} holds a {type(obj).__name__}; expected a torch_geometric Data (or a homogeneous "
                         f"DGL graph) saved with torch.save")
    return data


def _from_dgl_file(path: Path) -> Data:
    from ..compat.dgl import import_dgl
    from ..compat.dgl_convert import from_dgl

    dgl = import_dgl()
    try:
        graphs, _ = dgl.load_graphs(str(path))
    except Exception as err:
        raise ValueError(f"{path} is not a readable dgl.save_graphs file ({type(err).__name__}: "
                         f"{(str(err).splitlines() or [''])[0][:160]})") from err
    if len(graphs) != 1:
        raise ValueError(f"{path} holds {len(graphs)} graphs; expected one")
    if len(graphs[0].ntypes) != 1 or len(graphs[0].etypes) != 1:
        raise ValueError(f"{path} holds a heterogeneous graph ({graphs[0].ntypes}); expected a homogeneous one")
    return from_dgl(graphs[0])


def _check_structure(data: Data, path: Path) -> None:
    ei = getattr(data, "edge_index", None)
    if not isinstance(ei, torch.Tensor) or ei.dim() != 2 or ei.size(0) != 2:
        shape = list(ei.shape) if isinstance(ei, torch.Tensor) else type(ei).__name__
        raise ValueError(f"{path}: edge_index must be a [2, num_edges] tensor (got {shape})")
    if ei.is_floating_point() or ei.is_complex() or ei.dtype == torch.bool:
        raise ValueError(f"{path}: edge_index must hold integer node ids (got {ei.dtype})")
    x = getattr(data, "x", None)
    if x is not None and (not isinstance(x, torch.Tensor) or x.dim() != 2):
        raise ValueError(f"{path}: x must be a [num_nodes, num_features] tensor "
                         f"(got {list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__})")
    if x is not None and "num_nodes" in data and data["num_nodes"] != x.size(0):
        raise ValueError(f"{path}: x has {x.size(0)} rows but num_nodes is {data['num_nodes']}")


def load_graph_file(path: str | os.PathLike, features: str | os.PathLike | None = None,
                    labels: str | os.PathLike | None = None) -> Data:
    """Load and validate a user's graph file (see the module docstring for the formats).

    Args:
        path: a ``.pt``/``.pth`` (PyG ``Data`` via ``torch.save``), ``.csv``/``.tsv``/``.txt`` (edge list) or
            ``.bin``/``.dgl`` (``dgl.save_graphs``) file.
        features: optional node features, ``.npy`` or a text table, one row per node (replaces ``x``).
        labels: optional node classes, ``.npy`` or text, one per node (replaces ``y``).

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> with open(os.path.join(folder, "edges.csv"), "w") as fh:
        ...     _ = fh.write("src,dst\\n0,1\\n1,2\\n")
        >>> load_graph_file(os.path.join(folder, "edges.csv"))
        Data(edge_index=[2, 4], x=[3, 64], name='edges')
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Graph file {path} does not exist")
    kind = GRAPH_FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"Unknown graph file type {path.suffix!r} for {path} (expected one of "
                         f"{', '.join(GRAPH_FILE_SUFFIXES)})")
    if kind == "edges":
        pairs = _read_edge_list(path)
        x = _features(Path(features), None) if features is not None else None
        y = _labels(Path(labels), None) if labels is not None else None
        sizes = [("features", x.size(0)) if x is not None else None, ("labels", y.size(0)) if y is not None else None]
        sizes = [s for s in sizes if s is not None]
        if len(sizes) == 2 and sizes[0][1] != sizes[1][1]:
            raise ValueError(f"features file {features} has {sizes[0][1]} rows but labels file {labels} has "
                             f"{sizes[1][1]} labels")
        top = int(pairs.max()) if len(pairs) else -1
        num_nodes = sizes[0][1] if sizes else top + 1
        if top >= num_nodes:
            row = int(np.flatnonzero((pairs >= num_nodes).any(axis=1))[0])
            raise ValueError(f"{path}: edge {row} names node {int(pairs[row].max())} but the {sizes[0][0]} file has "
                             f"{num_nodes} rows (node ids are 0-based row numbers)")
        edge_index = torch.as_tensor(pairs.T, dtype=torch.long).contiguous()
        edge_index, _ = remove_self_loops(edge_index)
        edge_index = coalesce(to_undirected(edge_index, num_nodes=num_nodes), num_nodes=num_nodes)
        data = Data(edge_index=edge_index, num_nodes=num_nodes)
        if x is not None:
            data.x = x
        if y is not None:
            data.y = y
    else:
        data = _from_torch_file(path) if kind == "pyg" else _from_dgl_file(path)
        _check_structure(data, path)
        data.edge_index = data.edge_index.long()
        num_nodes = data.num_nodes
        if features is not None:
            data.x = _features(Path(features), num_nodes)
        if labels is not None:
            data.y = _labels(Path(labels), num_nodes)
        if data.x is not None and not data.x.is_floating_point():
            data.x = data.x.float()
        y = getattr(data, "y", None)
        if isinstance(y, torch.Tensor):
            if y.dim() != 1 or y.size(0) != num_nodes:
                raise ValueError(f"{path}: y must hold one class label per node ([{num_nodes}], got {list(y.shape)})")
            if y.is_floating_point():
                if not (torch.isfinite(y).all() and (y == y.round()).all()):
                    raise ValueError(f"{path}: y must hold integer class labels (got {y.dtype} with fractions)")
                data.y = y.long()
            if len(data.y) and data.y.min() < 0:
                raise ValueError(f"{path}: class labels in y must be >= 0 (min {int(data.y.min())})")
    if data.x is None and data.num_nodes:
        data.x = _degree_features(data.edge_index, data.num_nodes)
    if "num_nodes" in data and data.x is not None:
        del data.num_nodes  # x gives it
    data.name = path.stem
    return validate_graph(data, str(path))
