"""Communal Edge Dropping (CED) of CSGCL."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from ._utils import check_prob, num_nodes_of, pair_uniform, rand, select_edges
from .base import Augmenter
from .community import COMMUNITY_METHODS, CommunityInfo, communal_edge_weights, community_info

__all__ = ['CommunalEdgeDropping', 'communal_keep_prob']


def communal_keep_prob(weights: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    r"""Keep probability of CED: :math:`\mathrm{clip}(\hat{w}_e / \bar{\hat{w}} \cdot (1 - p),\ 1 - thr,\ 1)`,
    so the mean keep rate is about :math:`1 - p` (before clipping)."""
    mean = weights.mean() if weights.numel() else weights.new_ones(())
    if not mean > 0:
        return torch.full_like(weights, max(1 - p, 1 - threshold))
    return (weights / mean * (1 - p)).clamp(min=1 - threshold, max=1.0)


class CommunalEdgeDropping(Augmenter):
    r"""Communal Edge Dropping of `"Community-Strength-enhanced Graph Contrastive Learning" (CSGCL)
    <https://arxiv.org/abs/2305.04658>`_: edges inside strong communities are kept more often, edges between
    communities are dropped more often.

    .. math::
        w_e = \begin{cases} S_c & u, v \in c \\ -(S_{c(u)} + S_{c(v)}) & \text{otherwise} \end{cases},\quad
        \hat{w} = \mathrm{minmax}(w),\quad
        p^{keep}_e = \mathrm{clip}\Big(\frac{\hat{w}_e}{\mathrm{mean}(\hat{w})}(1 - p),\ 1 - thr,\ 1\Big)

    and each edge is kept with probability :math:`p^{keep}_e` (one draw per view). Communities, strengths and
    :math:`p^{keep}` are computed once per graph (vectorised) and cached on the transform for the last graph seen
    (same ``edge_index`` tensor object, unmodified).

    Args:
        p (float): target drop rate in :math:`[0, 1]`.
        threshold (float, optional): :math:`thr`, the largest allowed drop probability. (default: :obj:`1.0`)
        undirected (bool, optional): one draw per unordered pair, so both directions are kept or dropped together
            (the reference draws each direction separately). (default: :obj:`True`)
        communities (CommunityInfo, optional): precomputed communities; otherwise detected with ``method`` and
            ``seed`` through :func:`~graphcl.augment.community_info` (shared cache). (default: :obj:`None`)
        method (str, optional): ``'leiden'`` or ``'louvain'``. (default: :obj:`'leiden'`)
        seed (int, optional): seed of the community detection. (default: :obj:`0`)
        generator (torch.Generator, optional): random source of the drops. (default: :obj:`None`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> ei = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3, 2, 3], [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5, 3, 2]])
        >>> ced = CommunalEdgeDropping(p=0.0)
        >>> ced(Data(edge_index=ei, num_nodes=6)).edge_index.size(1)  # p = 0: bridge weight 0 is still dropped
        12
    """

    _repr_keys = ('p', 'threshold', 'undirected', 'method')

    def __init__(self, p: float, threshold: float = 1.0, undirected: bool = True,
                 communities: Optional[CommunityInfo] = None, method: str = 'leiden', seed: int = 0,
                 generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        check_prob('threshold', threshold)
        if method not in COMMUNITY_METHODS:
            raise ValueError(f"Expected 'method' to be one of {COMMUNITY_METHODS} (got {method!r})")
        self.p, self.threshold, self.undirected = p, threshold, undirected
        self.communities, self.method, self.seed = communities, method, seed
        self._cache = None

    def keep_prob(self, data: Data) -> Tensor:
        """Per-edge keep probability :math:`p^{keep}` for ``data`` (cached)."""
        ei, n = data.edge_index, num_nodes_of(data)
        c = self._cache
        if c is not None and c[0] is ei and c[1] == ei._version:
            return c[2]
        info = self.communities
        if info is None:
            info = community_info(ei, n, self.method, self.seed)
        info = info.to(ei.device)
        keep = communal_keep_prob(communal_edge_weights(ei, info.labels, info.strength), self.p, self.threshold)
        self._cache = (ei, ei._version, keep)
        return keep

    def forward(self, data: Data) -> Data:
        keep = self.keep_prob(data)
        ei = data.edge_index
        if self.undirected:
            u = pair_uniform(ei, num_nodes_of(data), self.generator)
        else:
            u = rand(ei.size(1), self.generator, ei.device)
        return select_edges(data, u < keep)
