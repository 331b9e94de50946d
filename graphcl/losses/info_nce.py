"""GRACE's two-view InfoNCE loss (inter- and intra-view negatives)."""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from ._contrast import (
    TwoViewLoss,
    check_batch_size,
    check_bias,
    check_pair,
    check_reduction,
    check_temperature,
    contrast_both,
    normalize_pair,
    reduce,
)

__all__ = ['InfoNCELoss', 'info_nce']


def info_nce(z1: Tensor, z2: Tensor, temperature: float = 0.5, batch_size: Optional[int] = None,
             pair_bias: Optional[Tensor] = None, reduction: str = 'mean') -> Tensor:
    r"""Two-view InfoNCE loss of `"Deep Graph Contrastive Representation Learning" (GRACE)
    <https://arxiv.org/abs/2006.04131>`_, with the optional pair bias of CSGCL's Team-up loss
    (`"Community-Strength-enhanced Graph Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_).

    With :math:`s` the cosine similarity (plus the bias :math:`b_i + b_j` when ``pair_bias`` is given):

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{s(u_i, v_i)/\tau}}{e^{s(u_i, v_i)/\tau}
        + \sum_{k \ne i} e^{s(u_i, v_k)/\tau} + \sum_{k \ne i} e^{s(u_i, u_k)/\tau}}

        \mathcal{L} = \frac{1}{N} \sum_{i=1}^{N} \frac{\ell(u_i, v_i) + \ell(v_i, u_i)}{2}

    Both directions share one inter-view similarity matrix and an analytic backward pass
    (:func:`~graphcl.losses._contrast.contrast_pair`); at extreme temperatures (:math:`\tau` below about
    :math:`1/80` in fp32) the per-direction ``logsumexp`` path is used instead, so nothing overflows. With
    ``batch_size`` the anchors are processed in blocks of ``B`` rows that are recomputed in the backward pass, so
    memory stays :math:`O(BN)`, never :math:`O(N^2)`; the value equals the unbatched one.

    Args:
        z1 (torch.Tensor): embeddings of view 1, :math:`u`.
        z2 (torch.Tensor): embeddings of view 2, :math:`v` (row ``i`` is the positive of row ``i`` of ``z1``).
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        batch_size (int, optional): rows per block; :obj:`None` computes the full :math:`N \times N`
            similarity at once. (default: :obj:`None`)
        pair_bias (torch.Tensor, optional): per-node bias :math:`b` of shape ``[N]``; the similarity of every
            pair becomes :math:`s_{ij} + b_i + b_j` before division by :math:`\tau` (Team-up uses
            :math:`b = \gamma_t S`). (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'`` (per node, averaged over both
            directions). (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`, optional bias :math:`(N)`
        - **output:** scalar, or :math:`(N)` with ``reduction='none'``

    Example:
        >>> import torch
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(info_nce(z, z, temperature=1.0).item(), 4)  # -log(e / (e + 1 + 1))
        0.5514
    """
    check_pair(z1, z2)
    check_temperature(temperature)
    check_batch_size(batch_size)
    check_bias(pair_bias, z1.size(0))
    check_reduction(reduction)
    h1, h2 = normalize_pair(z1, z2)
    l1, l2 = contrast_both(h1, h2, temperature, batch_size, pair_bias)
    return reduce(0.5 * (l1 + l2), reduction)


class InfoNCELoss(TwoViewLoss):
    r"""Module form of :func:`info_nce`, the GRACE loss
    (`"Deep Graph Contrastive Representation Learning" <https://arxiv.org/abs/2006.04131>`_).

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{s(u_i, v_i)/\tau}}{e^{s(u_i, v_i)/\tau}
        + \sum_{k \ne i} e^{s(u_i, v_k)/\tau} + \sum_{k \ne i} e^{s(u_i, u_k)/\tau}},\quad
        \mathcal{L} = \frac{1}{2N} \sum_i \big(\ell(u_i, v_i) + \ell(v_i, u_i)\big)

    Args:
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        batch_size (int, optional): rows per block (memory :math:`O(BN)`); :obj:`None` for one dense block.
            (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`, optional ``pair_bias`` :math:`(N)`
        - **output:** scalar

    Example:
        >>> import torch
        >>> loss = InfoNCELoss(temperature=0.5, batch_size=2)
        >>> z1, z2 = torch.randn(5, 8), torch.randn(5, 8)
        >>> loss(z1, z2).shape
        torch.Size([])
    """

    def forward(self, z1: Tensor, z2: Tensor, pair_bias: Optional[Tensor] = None) -> Tensor:
        return info_nce(z1, z2, self.temperature, self.batch_size, pair_bias, self.reduction)
