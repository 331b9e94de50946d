"""Communal Attribute Voting (CAV) of CSGCL."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from ._utils import check_prob, num_nodes_of, rand, scale_columns
from .base import Augmenter
from .community import COMMUNITY_METHODS, CommunityInfo, communal_attribute_weights, community_info

__all__ = ['CommunalAttributeVoting', 'communal_drop_prob']


def communal_drop_prob(weights: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    r"""Drop probability of CAV: :math:`\mathrm{clip}(\tilde{w}_m / \bar{\tilde{w}} \cdot p,\ 0,\ thr)`."""
    mean = weights.mean() if weights.numel() else weights.new_ones(())
    if not mean > 0:
        return torch.full_like(weights, min(p, threshold))
    return (weights / mean * p).clamp(min=0.0, max=threshold)


class CommunalAttributeVoting(Augmenter):
    r"""Communal Attribute Voting of `"Community-Strength-enhanced Graph Contrastive Learning" (CSGCL)
    <https://arxiv.org/abs/2305.04658>`_: feature columns that matter to strong communities are masked less.

    .. math::
        v_m = \sum_i |x_{im}|\, S_{c(i)},\quad
        \tilde{w}_m = \frac{\max_k \log v_k - \log v_m}{\max_k \log v_k - \min_k \log v_k},\quad
        p_m = \mathrm{clip}\Big(\frac{\tilde{w}_m}{\mathrm{mean}(\tilde{w})}\, p,\ 0,\ thr\Big)

    and column :math:`m` is zeroed with probability :math:`p_m` (one mask per view, shared by all nodes). Zero votes
    become the largest vote (reference behaviour); see
    :func:`~graphcl.augment.communal_attribute_weights` for negative votes. :math:`p_m` is computed once and
    cached for the last ``(x, edge_index)`` seen (for the last ``x`` when ``communities`` is given, so views whose
    edges were dropped first reuse it).

    Args:
        p (float): target masking rate in :math:`[0, 1]`.
        threshold (float, optional): :math:`thr`, the largest drop probability. (default: :obj:`1.0`)
        communities (CommunityInfo, optional): precomputed communities. (default: :obj:`None`)
        method (str, optional): ``'leiden'`` or ``'louvain'``. (default: :obj:`'leiden'`)
        seed (int, optional): seed of the community detection. (default: :obj:`0`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> ei = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3, 2, 3], [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5, 3, 2]])
        >>> cav = CommunalAttributeVoting(p=0.0)
        >>> cav(Data(x=torch.ones(6, 4), edge_index=ei)).x.sum().item()
        24.0
    """

    _repr_keys = ('p', 'threshold', 'method')

    def __init__(self, p: float, threshold: float = 1.0, communities: Optional[CommunityInfo] = None,
                 method: str = 'leiden', seed: int = 0, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        check_prob('threshold', threshold)
        if method not in COMMUNITY_METHODS:
            raise ValueError(f"Expected 'method' to be one of {COMMUNITY_METHODS} (got {method!r})")
        self.p, self.threshold = p, threshold
        self.communities, self.method, self.seed = communities, method, seed
        self._cache = None

    def drop_prob(self, data: Data) -> Tensor:
        """Per-column drop probability :math:`p_m` for ``data`` (cached)."""
        x, ei = data.x, data.edge_index
        if self.communities is not None:  # fixed communities: p_m depends on x only (views of other edge sets hit)
            ei = None
        c = self._cache
        if c is not None and c[0] is x and c[1] == x._version and c[2] is ei and (ei is None or c[3] == ei._version):
            return c[4]
        info = self.communities
        if info is None:
            info = community_info(ei, num_nodes_of(data), self.method, self.seed)
        info = info.to(x.device)
        prob = communal_drop_prob(communal_attribute_weights(x, info.node_strength), self.p, self.threshold)
        self._cache = (x, x._version, ei, None if ei is None else ei._version, prob)
        return prob

    def forward(self, data: Data) -> Data:
        prob = self.drop_prob(data)
        x = data.x
        keep = rand(x.size(-1), self.generator, x.device) >= prob
        data.x = scale_columns(x, keep.to(x.dtype))
        return data
