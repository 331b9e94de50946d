"""Decoupled contrastive loss (DCL)."""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from ._contrast import (
    TwoViewLoss,
    check_batch_size,
    check_pair,
    check_reduction,
    check_temperature,
    contrast_both,
    normalize_pair,
    reduce,
)

__all__ = ['DCLLoss', 'dcl']


def dcl(z1: Tensor, z2: Tensor, temperature: float = 0.5, batch_size: Optional[int] = None,
        reduction: str = 'mean') -> Tensor:
    r"""Decoupled contrastive loss of `"Decoupled Contrastive Learning" <https://arxiv.org/abs/2110.06848>`_ in the
    two-view node form of GRACE: the positive pair is removed from the denominator.

    .. math::
        \ell(u_i, v_i) = -\frac{s(u_i, v_i)}{\tau} + \log\Big(\sum_{k \ne i} e^{s(u_i, v_k)/\tau}
        + \sum_{k \ne i} e^{s(u_i, u_k)/\tau}\Big),\qquad
        \mathcal{L} = \frac{1}{2N}\sum_i \big(\ell(u_i, v_i) + \ell(v_i, u_i)\big)

    with :math:`s` the cosine similarity. Unlike InfoNCE it can be negative; it equals InfoNCE minus
    :math:`\log(1 + e^{s_{ii}/\tau} / \sum_{neg})` per anchor, which removes the "negative-positive coupling" of
    the gradient. Both directions share the fused core of :func:`~graphcl.losses.info_nce` (the positives are
    zeroed in its exponential blocks); batching (``batch_size``) as there.

    Args:
        z1 (torch.Tensor): view 1 embeddings.
        z2 (torch.Tensor): view 2 embeddings.
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        batch_size (int, optional): rows per block. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)` with :math:`N \ge 2`
        - **output:** scalar

    Example:
        >>> import torch
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(dcl(z, z, temperature=1.0).item(), 4)  # -1 + log(1 + 1)
        -0.3069
    """
    check_pair(z1, z2)
    if z1.size(0) < 2:
        raise ValueError(f"Expected at least 2 nodes for DCL, which needs negatives (got {z1.size(0)})")
    check_temperature(temperature)
    check_batch_size(batch_size)
    check_reduction(reduction)
    h1, h2 = normalize_pair(z1, z2)
    l1, l2 = contrast_both(h1, h2, temperature, batch_size, include_positive=False)
    return reduce(0.5 * (l1 + l2), reduction)


class DCLLoss(TwoViewLoss):
    r"""Module form of :func:`dcl` (`"Decoupled Contrastive Learning" <https://arxiv.org/abs/2110.06848>`_).

    .. math::
        \ell(u_i, v_i) = -\frac{s(u_i, v_i)}{\tau} + \log\Big(\sum_{k \ne i} e^{s(u_i, v_k)/\tau}
        + \sum_{k \ne i} e^{s(u_i, u_k)/\tau}\Big)

    Args:
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        batch_size (int, optional): rows per block. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`
        - **output:** scalar

    Example:
        >>> import torch
        >>> DCLLoss(temperature=0.5)(torch.randn(4, 3), torch.randn(4, 3)).shape
        torch.Size([])
    """

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return dcl(z1, z2, self.temperature, self.batch_size, self.reduction)
