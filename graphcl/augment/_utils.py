"""Helpers shared by the augmenters: seeded draws, undirected pairing, edge/node subsetting that keeps every edge-
or node-level attribute aligned and keeps a :class:`~torch_geometric.data.Batch` consistent (slices, ptr)."""
from __future__ import annotations

import weakref
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

__all__ = ['check_prob', 'rand', 'randint', 'scale_columns', 'pair_inverse', 'pair_uniform', 'edge_keys', 'node_keys',
           'select_edges', 'set_edges',
           'select_nodes', 'graph_ptr', 'num_nodes_of']


def check_prob(name: str, value: float, low_open: bool = False, high_open: bool = False) -> None:
    lo_ok = value > 0 if low_open else value >= 0
    hi_ok = value < 1 if high_open else value <= 1
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo_ok and hi_ok):
        lo, hi = '(' if low_open else '[', ')' if high_open else ']'
        raise ValueError(f"Expected '{name}' to be a probability in {lo}0, 1{hi} (got {value!r})")


def rand(shape, generator: Optional[torch.Generator], device: torch.device) -> Tensor:
    """Uniform [0, 1) draws on ``device`` from ``generator`` (drawn on the generator's device, then moved)."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def randint(high: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    """Element-wise ``floor(U * high)``, i.e. a uniform integer in ``[0, high)`` per entry (``high >= 1``)."""
    u = rand(high.shape, generator, high.device)
    return torch.minimum((u * high).long(), high - 1)


def scale_columns(x: Tensor, scale: Tensor) -> Tensor:
    """``x * scale`` per column (``scale`` of shape ``[F]``), also for a sparse CSR ``x``: then only the stored
    values are scaled and the result shares ``x``'s index tensors (no dense ``N x F`` copy)."""
    if x.layout == torch.sparse_csr:
        col = x.col_indices()
        return torch.sparse_csr_tensor(x.crow_indices(), col, x.values() * scale[col], x.shape,
                                       check_invariants=False)
    return x * scale


def num_nodes_of(data: Data) -> int:
    n = data.num_nodes
    if n is None:
        raise ValueError("Expected the input graph to know its number of nodes (got 'num_nodes' = None)")
    return n


_PAIR_CACHE: list = []  # one entry: (weakref to edge_index, version, num_nodes, num_pairs, inverse)


def pair_inverse(edge_index: Tensor, num_nodes: int) -> Tuple[int, Tensor]:
    """Index of each edge's unordered pair ``{u, v}`` in ``0..P-1`` and ``P``; memoised for the last
    ``edge_index`` seen (weak reference, invalidated by in-place changes), since views of one graph reuse it."""
    if _PAIR_CACHE:
        ref, version, n, num_pairs, inverse = _PAIR_CACHE[0]
        if ref() is edge_index and version == edge_index._version and n == num_nodes:
            return num_pairs, inverse
    row, col = edge_index
    key = torch.minimum(row, col) * num_nodes + torch.maximum(row, col)
    uniq, inverse = torch.unique(key, return_inverse=True)
    _PAIR_CACHE[:] = [(weakref.ref(edge_index), edge_index._version, num_nodes, uniq.numel(), inverse)]
    return uniq.numel(), inverse


def pair_uniform(edge_index: Tensor, num_nodes: int, generator: Optional[torch.Generator]) -> Tensor:
    """One uniform draw per unordered pair ``{u, v}``, shared by ``(u, v)`` and ``(v, u)`` (shape ``[E]``)."""
    num_pairs, inverse = pair_inverse(edge_index, num_nodes)
    return rand(num_pairs, generator, edge_index.device)[inverse]


def edge_keys(data: Data) -> List[str]:
    """Names of the edge-level attributes other than ``edge_index`` (computed before ``edge_index`` changes)."""
    out = []
    for key, value in data.items():
        if key == 'edge_index' or not isinstance(value, Tensor):
            continue
        if key in ('edge_attr', 'edge_weight') or data.is_edge_attr(key):
            out.append(key)
    return out


def node_keys(data: Data) -> List[str]:
    out = []
    for key, value in data.items():
        if key in ('edge_index', 'ptr') or not isinstance(value, Tensor):
            continue
        if key in ('x', 'batch', 'n_id') or data.is_node_attr(key):
            out.append(key)
    return out


def graph_ptr(data: Data, device: torch.device) -> Tensor:
    """``ptr`` of a :class:`Batch` (nodes of graph ``g`` are ``ptr[g]:ptr[g+1]``); ``[0, N]`` for a ``Data``."""
    if isinstance(data, Batch):
        return data.ptr.to(device)
    return torch.tensor([0, num_nodes_of(data)], device=device)


def _counts_to_slice(counts: Tensor) -> Tensor:
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)]).cpu()


def _fix_batch_edges(data: Batch) -> None:
    """Recomputes the edge slices of a Batch after its edges changed (edges must be grouped by graph)."""
    if not hasattr(data, '_slice_dict'):
        return
    graph = data.batch[data.edge_index[0]] if data.edge_index.numel() else data.edge_index.new_zeros(0)
    counts = torch.bincount(graph, minlength=data.num_graphs)
    slices = _counts_to_slice(counts)
    new = dict(data._slice_dict)  # replace, never write into the caller's dict
    for key in ['edge_index'] + [k for k in new if k in data and k != 'edge_index' and data.is_edge_attr(k)]:
        if key in new:
            new[key] = slices
    data._slice_dict = new


def select_edges(data: Data, index: Tensor, keys: Optional[List[str]] = None) -> Data:
    """Keeps edges ``index`` (bool mask or long index) on every edge-level attribute; replaces attributes."""
    keys = edge_keys(data) if keys is None else keys
    for key in keys:
        data[key] = data[key][index]
    data.edge_index = data.edge_index[:, index]
    if isinstance(data, Batch):
        _fix_batch_edges(data)
    return data


def set_edges(data: Data, edge_index: Tensor, attrs: Dict[str, Tensor]) -> Data:
    """Replaces the edge set; ``attrs`` holds every edge-level attribute for the new edges. For a Batch the edges
    are stably re-grouped by graph so that slicing back into graphs stays valid."""
    if isinstance(data, Batch) and edge_index.numel():
        perm = torch.sort(data.batch[edge_index[0]], stable=True)[1]
        edge_index = edge_index[:, perm]
        attrs = {k: v[perm] for k, v in attrs.items()}
    for key, value in attrs.items():
        data[key] = value
    data.edge_index = edge_index
    if isinstance(data, Batch):
        _fix_batch_edges(data)
    return data


def select_nodes(data: Data, keep: Tensor, relabel: bool) -> Data:
    """Keeps nodes ``keep`` (bool mask ``[N]``) and the edges among them.

    ``relabel=True`` removes the other nodes (node attributes are subset, indices compacted, ``n_id`` records
    the original index of each kept node); ``relabel=False`` keeps all nodes and only removes their edges.
    """
    e_keys = edge_keys(data)
    n_keys = node_keys(data)
    n = keep.numel()
    row, col = data.edge_index
    edge_mask = keep[row] & keep[col]
    select_edges(data, edge_mask, e_keys)
    if not relabel:
        return data
    new_id = torch.full((n,), -1, dtype=torch.long, device=keep.device)
    kept = keep.nonzero().view(-1)
    new_id[kept] = torch.arange(kept.numel(), device=keep.device)
    old_n_id = data.n_id if 'n_id' in data else None
    for key in n_keys:
        if key != 'n_id':
            data[key] = data[key][kept]
    data.n_id = kept if old_n_id is None else old_n_id[kept]
    data.edge_index = new_id[data.edge_index]
    if not isinstance(data, Batch):
        data.num_nodes = kept.numel()
    if isinstance(data, Batch):
        counts = torch.bincount(data.batch, minlength=data.num_graphs)
        data.ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        if hasattr(data._store, '_num_nodes'):  # graphs collated with an explicit num_nodes
            data._store._num_nodes = counts.tolist()
            data.num_nodes = kept.numel()
        if hasattr(data, '_slice_dict'):
            slices = _counts_to_slice(counts)
            new_slice, new_inc = dict(data._slice_dict), dict(getattr(data, '_inc_dict', {}))
            for key in n_keys + ['n_id']:
                if key in new_slice or key == 'n_id':
                    new_slice[key] = slices
            if 'n_id' not in new_inc:
                new_inc['n_id'] = torch.zeros(data.num_graphs, dtype=torch.long)
            if 'edge_index' in new_inc:
                new_inc['edge_index'] = slices[:-1]
            data._slice_dict, data._inc_dict = new_slice, new_inc
    return data
