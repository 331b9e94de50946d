"""Communities and community strength (CSGCL), computed once per graph and cached."""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ['CommunityInfo', 'detect_communities', 'community_strength', 'community_info', 'communal_edge_weights',
           'communal_attribute_weights', 'COMMUNITY_METHODS']

COMMUNITY_METHODS = ('leiden', 'louvain')


def _check_method(method: str) -> None:
    if method not in COMMUNITY_METHODS:
        raise ValueError(f"Expected 'method' to be one of {COMMUNITY_METHODS} (got {method!r})")


def _undirected_pairs(edge_index: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    """Unique unordered pairs ``u <= v`` of ``edge_index`` (self-loops kept, duplicates and directions merged)."""
    row, col = edge_index.cpu()
    lo, hi = torch.minimum(row, col), torch.maximum(row, col)
    key = torch.unique(lo * num_nodes + hi)
    return key // num_nodes, key % num_nodes


def detect_communities(edge_index: Tensor, num_nodes: int, method: str = 'leiden', seed: int = 0,
                       resolution: float = 1.0) -> Tensor:
    r"""Non-overlapping communities of the undirected simple graph behind ``edge_index``.

    ``'leiden'``: `leidenalg <https://leidenalg.readthedocs.io>`_ on an igraph graph, modularity partition
    (``RBConfigurationVertexPartition`` when ``resolution != 1``), as the CSGCL reference (via cdlib).
    ``'louvain'``: :func:`networkx.community.louvain_communities`. Both are seeded, hence deterministic.

    Returns:
        torch.Tensor: community label of every node, ``[N]`` long in ``0..C-1`` (on ``edge_index``'s device).
    """
    _check_method(method)
    u, v = _undirected_pairs(edge_index, num_nodes)
    pairs = torch.stack([u, v], 1).numpy()
    if method == 'leiden':
        import igraph as ig
        import leidenalg as la
        g = ig.Graph(n=num_nodes, edges=pairs)
        if resolution == 1.0:
            part = la.find_partition(g, la.ModularityVertexPartition, seed=seed)
        else:
            part = la.find_partition(g, la.RBConfigurationVertexPartition, seed=seed,
                                     resolution_parameter=resolution)
        labels = np.asarray(part.membership, dtype=np.int64)
    else:
        import networkx as nx
        g = nx.Graph()
        g.add_nodes_from(range(num_nodes))
        g.add_edges_from(pairs.tolist())
        comms = nx.community.louvain_communities(g, seed=seed, resolution=resolution)
        labels = np.empty(num_nodes, dtype=np.int64)
        sizes = np.fromiter((len(c) for c in comms), dtype=np.int64, count=len(comms))
        labels[np.fromiter((i for c in comms for i in c), dtype=np.int64, count=num_nodes)] = \
            np.repeat(np.arange(len(comms)), sizes)
    return torch.from_numpy(labels).to(edge_index.device)


def community_strength(edge_index: Tensor, labels: Tensor, num_nodes: Optional[int] = None
                       ) -> Tuple[Tensor, Tensor]:
    r"""Community strength of `"Community-Strength-enhanced Graph Contrastive Learning" (CSGCL)
    <https://arxiv.org/abs/2305.04658>`_: each community's share of the modularity

    .. math::
        S_c = \frac{E_{in}(c)}{|E|} - \Big(\frac{\deg(c)}{2|E|}\Big)^2,\qquad \sum_c S_c = Q

    on the undirected simple graph (duplicates and both directions count once; a self-loop counts as one edge
    and adds 2 to its node's degree, as in networkx). Node :math:`i` carries :math:`S_{c(i)}`.

    Returns:
        (strength [C], node_strength [N]) as float tensors on ``labels``' device.
    """
    n = labels.numel() if num_nodes is None else num_nodes
    labels_cpu = labels.cpu().long()
    u, v = _undirected_pairs(edge_index, n)
    m = u.numel()
    if m == 0:
        raise ValueError("Expected a graph with at least one edge to compute community strength (got 0 edges)")
    c = int(labels_cpu.max()) + 1 if labels_cpu.numel() else 0
    cu, cv = labels_cpu[u], labels_cpu[v]
    e_in = torch.bincount(cu[cu == cv], minlength=c).double()
    deg = (torch.bincount(cu, minlength=c) + torch.bincount(cv, minlength=c)).double()
    strength = (e_in / m - (deg / (2 * m)) ** 2).float().to(labels.device)
    return strength, strength[labels.long()]


def communal_edge_weights(edge_index: Tensor, labels: Tensor, strength: Tensor) -> Tensor:
    r"""CSGCL's raw CED edge weights, min-max scaled to :math:`[0, 1]`:

    .. math::
        w_e = \begin{cases} S_c & u, v \in c \\ -(S_{c(u)} + S_{c(v)}) & \text{otherwise} \end{cases},\qquad
        \hat{w}_e = \frac{w_e - \min w}{\max w - \min w}

    Vectorised (the reference loops over edges in Python). All-equal weights give :math:`\hat{w} = 1`.
    """
    cu, cv = labels[edge_index[0]], labels[edge_index[1]]
    su, sv = strength[cu], strength[cv]
    w = torch.where(cu == cv, su, -(su + sv))
    if w.numel() == 0:
        return w
    lo, hi = w.min(), w.max()
    if hi <= lo:
        return torch.ones_like(w)
    return (w - lo) / (hi - lo)


def communal_attribute_weights(x: Tensor, node_strength: Tensor) -> Tensor:
    r"""CSGCL's CAV attribute weights :math:`\tilde{w} \in [0, 1]` (high = dropped more):

    .. math::
        v_m = \sum_i |x_{im}|\, S_{c(i)},\quad w_m = \log v_m,\quad
        \tilde{w}_m = \frac{\max w - w_m}{\max w - \min w}

    An attribute with zero votes (never used) gets the largest vote, as in the reference. An attribute with a
    negative vote (used mainly by communities of negative strength; the reference would take the log of a
    negative number) gets the smallest positive vote, i.e. the highest drop weight. Degenerate cases (no positive
    vote, all votes equal) give uniform weights :math:`\tilde{w} = 1`.
    """
    if x.layout == torch.sparse_csr:  # sparse features: the votes only read the stored values
        xa = torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), x.values().abs(), x.shape,
                                     check_invariants=False)
        votes = torch.sparse.mm(xa.t(), node_strength.to(x.dtype).unsqueeze(1)).squeeze(1)
    else:
        xa = x.abs() if x.numel() and bool(x.min() < 0) else x  # no N x F copy for non-negative features
        votes = (node_strength.unsqueeze(0).to(x.dtype) @ xa).squeeze(0)
    votes = votes.to(node_strength.dtype)
    pos = votes > 0
    if not bool(pos.any()):
        return torch.ones_like(votes)
    vmax, vmin = votes[pos].max(), votes[pos].min()
    votes = torch.where(votes == 0, vmax, torch.where(votes < 0, vmin, votes))
    w = votes.log()
    lo, hi = w.min(), w.max()
    if hi <= lo:
        return torch.ones_like(w)
    return (hi - w) / (hi - lo)


@dataclass
class CommunityInfo:
    r"""Communities of one graph and their strengths (see :func:`community_strength`).

    Attributes:
        labels (torch.Tensor): community of each node, ``[N]``.
        strength (torch.Tensor): :math:`S_c` per community, ``[C]``.
        node_strength (torch.Tensor): :math:`S_{c(i)}` per node, ``[N]``.
    """
    labels: Tensor
    strength: Tensor
    node_strength: Tensor

    @property
    def num_communities(self) -> int:
        return self.strength.numel()

    @property
    def modularity(self) -> float:
        return float(self.strength.sum())

    def to(self, device) -> 'CommunityInfo':
        return CommunityInfo(self.labels.to(device), self.strength.to(device), self.node_strength.to(device))


_CACHE: Dict[tuple, Tuple[weakref.ref, int, CommunityInfo]] = {}


def community_info(edge_index: Tensor, num_nodes: int, method: str = 'leiden', seed: int = 0,
                   resolution: float = 1.0, cache: bool = True) -> CommunityInfo:
    r"""Detects communities (:func:`detect_communities`) and their strengths (:func:`community_strength`).

    With ``cache=True`` the result is memoised per ``edge_index`` tensor object (held by a weak reference, and
    invalidated if the tensor is modified in place), so the CED and CAV augmenters of one graph, and every epoch,
    share a single community detection.
    """
    _check_method(method)
    key = (id(edge_index), num_nodes, method, seed, resolution)
    hit = _CACHE.get(key) if cache else None
    if hit is not None and hit[0]() is edge_index and hit[1] == edge_index._version:
        return hit[2]
    labels = detect_communities(edge_index, num_nodes, method, seed, resolution)
    strength, node_strength = community_strength(edge_index, labels, num_nodes)
    info = CommunityInfo(labels, strength, node_strength)
    if cache:
        for k in [k for k, v in _CACHE.items() if v[0]() is None]:  # drop entries of freed graphs
            del _CACHE[k]
        _CACHE[key] = (weakref.ref(edge_index), edge_index._version, info)
    return info
