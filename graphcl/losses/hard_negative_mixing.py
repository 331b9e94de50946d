"""Hard negative mixing (MoCHi) on top of the GRACE loss."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ._contrast import (
    TwoViewLoss,
    check_batch_size,
    check_pair,
    check_reduction,
    check_temperature,
    contrast_both,
    dense_block_rows,
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


def _synthetic_negatives(rows: Tensor, b: Tensor, start: int, end: int, num_hard: int, draws) -> Tensor:
    """MoCHi's synthetic negatives of anchors ``rows = a[start:end]`` (detached), mixed from their ``num_hard``
    hardest inter-view negatives in ``b`` (detached), shape ``[B, s + s', D]``."""
    i1, i2, alpha, iq, beta = (d[start:end] for d in draws)
    bsz = end - start
    ar = torch.arange(bsz, device=rows.device)
    cand = (rows @ b.t()).index_put_((ar, ar + start), torch.tensor(float('-inf'), device=rows.device,
                                                                    dtype=rows.dtype))
    top = cand.topk(num_hard, dim=1).indices  # hardest inter-view negatives, [B, k]

    def pick(j: Tensor) -> Tensor:  # the j-th hardest negatives, [B, s, D]
        return b[top.gather(1, j)]

    al = alpha.unsqueeze(-1).to(b.dtype)
    mixed = F.normalize(al * pick(i1) + (1 - al) * pick(i2), dim=-1)  # h = a n_i + (1 - a) n_j
    be = beta.unsqueeze(-1).to(b.dtype)
    qmixed = F.normalize(be * rows.unsqueeze(1) + (1 - be) * pick(iq), dim=-1)  # h' = b q + (1 - b) n
    return torch.cat([mixed, qmixed], dim=1)


def _synthetic_block(a: Tensor, b: Tensor, start: int, end: int, inv_t: float, num_hard: int, draws) -> Tensor:
    """``log sum_h e^{q^T h / tau}`` for the anchors ``q = a[start:end]``; gradient through the anchors only."""
    rows = a[start:end]
    with torch.no_grad():
        synth = _synthetic_negatives(rows.detach(), b.detach(), start, end, num_hard, draws)
    return torch.einsum('bd,bsd->bs', rows * inv_t, synth).logsumexp(dim=1)


def _synthetic_terms(a: Tensor, b: Tensor, temperature: float, num_hard: int, draws,
                     batch_size: Optional[int]) -> Tensor:
    """Log-sum of the synthetic negatives of every anchor of ``a`` (shape ``[N]``), in row blocks; with
    ``batch_size`` the blocks are recomputed in the backward pass (the draws are fixed up front, so the
    recomputation sees the same mixes) and memory stays :math:`O(B(N + kD))`."""
    n = a.size(0)
    bs = min(dense_block_rows(a.device) if batch_size is None else batch_size, n)
    use_ckpt = batch_size is not None and torch.is_grad_enabled() and a.requires_grad
    out = []
    for start in range(0, n, bs):  # loop over row blocks, not nodes
        end = min(start + bs, n)
        args = (a, b, start, end, 1.0 / temperature, num_hard, draws)
        out.append(checkpoint(_synthetic_block, *args, use_reentrant=False) if use_ckpt else _synthetic_block(*args))
    return torch.cat(out)


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
    l1, l2 = contrast_both(h1, h2, temperature, batch_size)
    if num_mix + num_query_mix > 0:
        # the GRACE terms are log D_i - pos_i; the synthetic negatives join D_i
        n = h1.size(0)
        k = min(num_hard, n - 1)
        pos = (h1 * h2).sum(dim=1) / temperature
        for_1 = _draws(n, k, num_mix, num_query_mix, generator, h1.device)
        for_2 = _draws(n, k, num_mix, num_query_mix, generator, h1.device)
        l1 = torch.logaddexp(l1 + pos, _synthetic_terms(h1, h2, temperature, k, for_1, batch_size)) - pos
        l2 = torch.logaddexp(l2 + pos, _synthetic_terms(h2, h1, temperature, k, for_2, batch_size)) - pos
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
