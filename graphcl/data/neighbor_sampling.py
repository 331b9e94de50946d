r"""Neighbour sampling for mini-batch training, as a PyG sampler (:class:`NeighborSampler`) that plugs into
PyG's :class:`~torch_geometric.loader.NodeLoader`.

The subgraphs are those of PyG's :class:`~torch_geometric.loader.NeighborLoader` (`"Inductive Representation
Learning on Large Graphs" <https://arxiv.org/abs/1706.02216>`_, GraphSAGE): from the seed nodes, hop :math:`l`
draws up to :math:`k_l` incoming edges of every node added at hop :math:`l - 1`, without replacement (all of them
when :math:`k_l = -1` or the in-degree is at most :math:`k_l`); a node reached twice is kept once. The output is
PyG's :class:`~torch_geometric.sampler.SamplerOutput` (nodes with the seeds first, the sampled edges relabelled to
positions in that list, their ids in the input graph, nodes and edges per hop), so a ``NodeLoader`` yields the same
``Data`` batches as ``NeighborLoader`` (``n_id``, ``e_id``, ``batch_size``, ``edge_index`` local).

PyG's own sampler needs ``pyg-lib`` or ``torch-sparse`` (compiled extensions); this one is plain torch, vectorised
per hop (sorting by random keys within each node's in-edges, no Python loop over nodes or edges), runs on the
graph's device, and draws every random number from the ``torch.Generator`` it is given, so a seeded generator
reproduces the same subgraphs on any install (and a method's checkpointed generator resumes its stream).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.sampler import BaseSampler, NodeSamplerInput, SamplerOutput

from ..kernels import index_to_rowptr

__all__ = ["CSCGraph", "NeighborSampler", "check_num_neighbors", "sample_neighbors", "to_csc"]


class CSCGraph(NamedTuple):
    """The incoming edges of every node: ``src[ptr[v]:ptr[v + 1]]`` are the sources of the edges into ``v`` and
    ``edge_id`` the positions of those edges in the input ``edge_index``."""

    ptr: Tensor
    src: Tensor
    edge_id: Tensor


def to_csc(edge_index: Tensor, num_nodes: int) -> CSCGraph:
    """``edge_index`` grouped by destination (stable: each node's in-edges keep their input order)."""
    perm = torch.sort(edge_index[1], stable=True)[1]
    return CSCGraph(index_to_rowptr(edge_index[1], num_nodes), edge_index[0, perm], perm)


def check_num_neighbors(num_neighbors: Any, name: str = "num_neighbors") -> list[int]:
    """``num_neighbors`` as a list of fan-outs, each -1 (all in-neighbours) or >= 0; a one-line ``ValueError``
    otherwise."""
    if (not isinstance(num_neighbors, (list, tuple)) or not num_neighbors
            or any(isinstance(k, bool) or not isinstance(k, int) or k < -1 for k in num_neighbors)):
        raise ValueError(f"Expected '{name}' to be a non-empty list of fan-outs, one per hop, each -1 (all "
                         f"in-neighbours) or >= 0 (got {num_neighbors!r})")
    return list(num_neighbors)


def _sample_hop(csc: CSCGraph, frontier: Tensor, k: int, generator: torch.Generator | None
                ) -> tuple[Tensor, Tensor, Tensor]:
    """Up to ``k`` in-edges of each frontier node: (frontier position of the destination, source, edge id)."""
    start = csc.ptr[frontier]
    deg = csc.ptr[frontier + 1] - start
    total = int(deg.sum())
    seg = torch.repeat_interleave(torch.arange(frontier.numel(), device=deg.device), deg, output_size=total)
    offset = torch.arange(total, device=deg.device) - (torch.cumsum(deg, 0) - deg)[seg]  # rank within the node
    if k >= 0 and total and bool((deg > k).any()):
        device = generator.device if generator is not None else deg.device
        keys = torch.rand(total, generator=generator, dtype=torch.float64, device=device).to(deg.device) + seg
        # sorting segment + uniform key shuffles each node's in-edges in place (the nodes' blocks do not move), so
        # the candidates at block ranks < k are a uniform draw of k of them without replacement
        pick = torch.sort(keys, stable=True)[1][offset < k]
    else:
        pick = torch.arange(total, device=deg.device)
    position = start[seg[pick]] + offset[pick]
    return seg[pick], csc.src[position], csc.edge_id[position]


def _append_new(nodes: Tensor, src: Tensor) -> tuple[Tensor, Tensor]:
    """``nodes`` extended by the sources not in it yet (in increasing id order) and each source's position."""
    n = nodes.numel()
    unique, inverse = torch.unique(torch.cat([nodes, src]), return_inverse=True)
    local = torch.full((unique.numel(),), -1, dtype=torch.long, device=nodes.device)
    local[inverse[:n]] = torch.arange(n, device=nodes.device)
    new = local < 0
    local[new] = torch.arange(n, n + int(new.sum()), device=nodes.device)
    return torch.cat([nodes, unique[new]]), local[inverse[n:]]


def sample_neighbors(csc: CSCGraph, seeds: Tensor, num_neighbors: Sequence[int],
                     generator: torch.Generator | None = None) -> SamplerOutput:
    r"""The neighbourhood subgraph of ``seeds``: hop :math:`l` draws up to ``num_neighbors[l]`` in-edges of each
    node added at hop :math:`l - 1` (-1: all of them), as in PyG's ``NeighborSampler`` (directed subgraph: the
    sampled edges only).

    Args:
        csc (CSCGraph): the graph's in-edges (:func:`to_csc`).
        seeds (Tensor): distinct node ids, shape :math:`(B,)`.
        num_neighbors (list of int): fan-out per hop.
        generator (torch.Generator, optional): source of the draws. (default: :obj:`None`, the global RNG)

    Returns:
        :class:`~torch_geometric.sampler.SamplerOutput` with ``node`` (the seeds first, then each hop's new nodes),
        ``row``/``col`` (source/destination positions in ``node``), ``edge`` (ids in the input ``edge_index``),
        ``num_sampled_nodes`` (per hop, the seeds first) and ``num_sampled_edges`` (per hop).

    Example:
        >>> import torch
        >>> csc = to_csc(torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]]), 4)
        >>> out = sample_neighbors(csc, torch.tensor([0]), [-1])
        >>> out.node.tolist(), out.row.tolist(), out.col.tolist()
        ([0, 1, 2, 3], [1, 2, 3], [0, 0, 0])
    """
    fanouts = check_num_neighbors(list(num_neighbors))
    if seeds.dim() != 1 or torch.unique(seeds).numel() != seeds.numel():
        raise ValueError(f"Expected 'seeds' to be a 1-D tensor of distinct node ids (got shape {tuple(seeds.shape)}"
                         f" with {seeds.numel() - torch.unique(seeds).numel()} repeats)")
    nodes = seeds.to(csc.ptr.device, torch.long)
    rows, cols, edges = [], [], []
    num_nodes, num_edges = [nodes.numel()], []
    for k in fanouts:
        first = nodes.numel() - num_nodes[-1]  # the frontier: the nodes added by the previous hop
        dst, src, edge = _sample_hop(csc, nodes[first:], k, generator)
        nodes, row = _append_new(nodes, src)
        rows.append(row)
        cols.append(dst + first)
        edges.append(edge)
        num_nodes.append(nodes.numel() - sum(num_nodes))
        num_edges.append(edge.numel())
    return SamplerOutput(node=nodes, row=torch.cat(rows), col=torch.cat(cols), edge=torch.cat(edges),
                         num_sampled_nodes=num_nodes, num_sampled_edges=num_edges)


class NeighborSampler(BaseSampler):
    r"""PyG-style neighbour sampler in plain torch (:func:`sample_neighbors`), for
    :class:`~torch_geometric.loader.NodeLoader`.

    Args:
        data (Data): the graph (its ``edge_index`` and ``num_nodes``; node and edge attributes are gathered by the
            loader).
        num_neighbors (list of int): fan-out per hop, -1 for all in-neighbours, e.g. ``[10, 10]`` for a 2-layer
            encoder.
        generator (torch.Generator, optional): source of the draws, on the graph's device. (default: :obj:`None`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> from torch_geometric.loader import NodeLoader
        >>> data = Data(x=torch.randn(4, 2), edge_index=torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]]))
        >>> loader = NodeLoader(data, node_sampler=NeighborSampler(data, [2]), batch_size=2)
        >>> batch = next(iter(loader))
        >>> batch.batch_size, batch.n_id[:2].tolist()
        (2, [0, 1])
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], generator: torch.Generator | None = None):
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"Expected 'generator' to be a torch.Generator or None (got {type(generator).__name__})")
        self.num_neighbors = check_num_neighbors(list(num_neighbors))
        self.generator = generator
        self.csc = to_csc(data.edge_index, int(data.num_nodes))

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs: Any) -> SamplerOutput:
        out = sample_neighbors(self.csc, index.node, self.num_neighbors, self.generator)
        out.metadata = (index.input_id, index.time)  # what NodeLoader reads back (batch_size = len(input_id))
        return out

    def sample_from_edges(self, index: Any, neg_sampling: Any = None) -> SamplerOutput:
        raise NotImplementedError(f"{type(self).__name__} samples around nodes only (NodeLoader); use PyG's "
                                  f"LinkNeighborLoader for edges")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_neighbors={self.num_neighbors})"
