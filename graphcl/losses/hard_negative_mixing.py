"""Hard negative mixing (MoCHi) on top of the GRACE loss."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ._contrast import (
    TwoViewLoss,
    check_batch_size,
    check_pair,
    check_reduction,
    check_temperature,
    contrast_rows,
    normalize_pair,
    reduce,
)

__all__ = ['HardNegativeMixingLoss', 'hard_negative_mixing']


def _draws(n: int, num_hard: int, num_mix: int, num_query_mix: int, generator: Optional[torch.Generator],
           device: torch.device):
    """All random numbers up front (so checkpoint recomputation of a row block sees the same draws)."""
    def u(*shape):
        return torch.rand(shape, generator=generator, device=generator.device if generator else device).to(device)
    i1 = (u(n, num_mix) * num_hard).long().clamp(max=num_hard - 1)
    i2 = (u(n, num_mix) * num_hard).long().clamp(max=num_hard - 1)
    alpha = u(n, num_mix)
    iq = (u(n, num_query_mix) * num_hard).long().clamp(max=num_hard - 1)
    beta = 0.5 * u(n, num_query_mix)
    return i1, i2, alpha, iq, beta


def _make_extra(temperature: float, num_hard: int, draws):
    i1, i2, alpha, iq, beta = draws

    def extra(rows: Tensor, a: Tensor, b: Tensor, inter: Tensor, start: int, end: int) -> Tensor:
        bsz = end - start
        ar = torch.arange(bsz, device=rows.device)
        cand = inter.detach().index_put((ar, ar + start), torch.tensor(float('-inf'), device=rows.device,
                                                                       dtype=inter.dtype))
        k = min(num_hard, cand.size(1) - 1)
        top = cand.topk(k, dim=1).indices  # hardest inter-view negatives, [B, k]
        hard = b.detach()[top]  # [B, k, D]
        sl = slice(start, end)
        j1, j2, jq = i1[sl].clamp(max=k - 1), i2[sl].clamp(max=k - 1), iq[sl].clamp(max=k - 1)
        n1 = hard.gather(1, j1.unsqueeze(-1).expand(-1, -1, hard.size(-1)))
        n2 = hard.gather(1, j2.unsqueeze(-1).expand(-1, -1, hard.size(-1)))
        al = alpha[sl].unsqueeze(-1).to(hard.dtype)
        mixed = F.normalize(al * n1 + (1 - al) * n2, dim=-1)  # h = a n_i + (1 - a) n_j
        nq = hard.gather(1, jq.unsqueeze(-1).expand(-1, -1, hard.size(-1)))
        be = beta[sl].unsqueeze(-1).to(hard.dtype)
        qmixed = F.normalize(be * rows.detach().unsqueeze(1) + (1 - be) * nq, dim=-1)  # h' = b q + (1 - b) n
        synth = torch.cat([mixed, qmixed], dim=1)  # [B, s + s', D], no gradient through synthetic points
        return torch.einsum('bd,bsd->bs', rows, synth) / temperature

    return extra


def hard_negative_mixing(z1: Tensor, z2: Tensor, temperature: float = 0.5, num_hard: int = 64, num_mix: int = 32,
                         num_query_mix: int = 16, batch_size: Optional[int] = None,
                         generator: Optional[torch.Generator] = None, reduction: str = 'mean') -> Tensor:
    r"""GRACE loss with synthetic hard negatives, after `"Hard Negative Mixing for Contrastive Learning" (MoCHi)
    <https://arxiv.org/abs/2010.01028>`_.

    For anchor :math:`q = u_i` let :math:`\tilde{Q}_i` be its ``num_hard`` most similar inter-view negatives
    :math:`v_k, k \ne i`. Synthetic negatives are added to the denominator of :math:`\ell(u_i, v_i)`:

    .. math::
        h = \frac{\alpha n_a + (1 - \alpha) n_b}{\|\cdot\|},\ \alpha \sim \mathcal{U}(0, 1),\qquad
        h' = \frac{\beta q + (1 - \beta) n_c}{\|\cdot\|},\ \beta \sim \mathcal{U}(0, 0.5),\qquad
        n_a, n_b, n_c \sim \mathcal{U}(\tilde{Q}_i)

    (``num_mix`` points :math:`h`, ``num_query_mix`` points :math:`h'`), giving
    :math:`\ell(u_i, v_i) = -\log \frac{e^{s_{ii}/\tau}}{e^{s_{ii}/\tau} + \sum_{k\ne i} e^{s(u_i, v_k)/\tau}
    + \sum_{k\ne i} e^{s(u_i, u_k)/\tau} + \sum_h e^{q^\top h/\tau}}`; symmetrised over the two views.
    Synthetic points carry no gradient (as in MoCHi); the anchor does. All mixing coefficients are drawn once per
    call from ``generator``.

    Args:
        z1 (torch.Tensor): view 1 embeddings.
        z2 (torch.Tensor): view 2 embeddings.
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        num_hard (int, optional): hardest negatives to mix from (capped at :math:`N - 1`). (default: :obj:`64`)
        num_mix (int, optional): synthetic negatives from pairs of hard negatives. (default: :obj:`32`)
        num_query_mix (int, optional): synthetic negatives mixing the anchor in. (default: :obj:`16`)
        batch_size (int, optional): rows per block (memory :math:`O(B(N + kD))`). (default: :obj:`None`)
        generator (torch.Generator, optional): random source of the mixing. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`, :math:`N \ge 2`
        - **output:** scalar

    Example:
        >>> import torch
        >>> from graphcl.losses import info_nce
        >>> z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
        >>> hard_negative_mixing(z1, z2, num_hard=3, num_mix=2, num_query_mix=2) >= info_nce(z1, z2)
        tensor(True)
    """
    check_pair(z1, z2)
    if z1.size(0) < 2:
        raise ValueError(f"Expected at least 2 nodes for hard negative mixing (got {z1.size(0)})")
    check_temperature(temperature)
    check_batch_size(batch_size)
    check_reduction(reduction)
    for name, v, lo in (('num_hard', num_hard, 1), ('num_mix', num_mix, 0), ('num_query_mix', num_query_mix, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"Expected '{name}' to be an int >= {lo} (got {v!r})")
    h1, h2 = normalize_pair(z1, z2)
    n = h1.size(0)
    k = min(num_hard, n - 1)
    if num_mix + num_query_mix == 0:
        extra1 = extra2 = None
    else:
        extra1 = _make_extra(temperature, k, _draws(n, k, num_mix, num_query_mix, generator, h1.device))
        extra2 = _make_extra(temperature, k, _draws(n, k, num_mix, num_query_mix, generator, h1.device))
    l1 = contrast_rows(h1, h2, temperature, batch_size, extra_fn=extra1)
    l2 = contrast_rows(h2, h1, temperature, batch_size, extra_fn=extra2)
    return reduce(0.5 * (l1 + l2), reduction)


class HardNegativeMixingLoss(TwoViewLoss):
    r"""Module form of :func:`hard_negative_mixing` (MoCHi-style synthetic hard negatives,
    `"Hard Negative Mixing for Contrastive Learning" <https://arxiv.org/abs/2010.01028>`_, on the GRACE loss).

    .. math::
        h = \mathrm{normalize}(\alpha n_a + (1 - \alpha) n_b),\quad
        h' = \mathrm{normalize}(\beta q + (1 - \beta) n_c),\quad \beta < 0.5

    Args:
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.5`)
        num_hard (int, optional): hardest negatives considered. (default: :obj:`64`)
        num_mix (int, optional): negative-negative mixes per anchor. (default: :obj:`32`)
        num_query_mix (int, optional): anchor-negative mixes per anchor. (default: :obj:`16`)
        batch_size (int, optional): rows per block. (default: :obj:`None`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`
        - **output:** scalar

    Example:
        >>> import torch
        >>> HardNegativeMixingLoss(num_hard=4)(torch.randn(8, 3), torch.randn(8, 3)).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.5, num_hard: int = 64, num_mix: int = 32, num_query_mix: int = 16,
                 batch_size: Optional[int] = None, generator: Optional[torch.Generator] = None,
                 reduction: str = 'mean'):
        super().__init__(temperature, batch_size, reduction)
        self.num_hard, self.num_mix, self.num_query_mix = num_hard, num_mix, num_query_mix
        self.generator = generator

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return hard_negative_mixing(z1, z2, self.temperature, self.num_hard, self.num_mix, self.num_query_mix,
                                    self.batch_size, self.generator, self.reduction)

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, num_hard={self.num_hard}, num_mix={self.num_mix}, '
                f'num_query_mix={self.num_query_mix}')
