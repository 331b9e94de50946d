"""Shared, row-batched core of the GRACE-style two-view contrastive losses.

Every loss in this package that contrasts node ``i`` of one view against all nodes of both views goes through
:func:`contrast_rows`. It processes the anchors in blocks of ``B`` rows, so each block only materialises two
``B x N`` similarity matrices; with autograd on, each block is wrapped in activation checkpointing, so the
``B x N`` blocks are recomputed in the backward pass instead of being kept alive for all blocks at once
(peak memory ``O(B N)`` instead of ``O(N^2)``, at the price of a second forward pass over each block).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

__all__ = ['check_pair', 'check_temperature', 'check_batch_size', 'check_reduction', 'check_bias', 'contrast_rows',
           'normalize_pair', 'reduce']

REDUCTIONS = ('mean', 'sum', 'none')

# ``extra_fn(rows_a, a, b, inter_logits, start, end) -> Tensor[B, M]`` returns additional negative logits
# (already divided by the temperature) that join the denominator of each anchor row.
ExtraFn = Callable[[Tensor, Tensor, Tensor, Tensor, int, int], Tensor]


def check_pair(z1: Tensor, z2: Tensor) -> None:
    if not isinstance(z1, Tensor) or not isinstance(z2, Tensor):
        raise TypeError(f"Expected 'z1' and 'z2' to be tensors (got {type(z1).__name__} and {type(z2).__name__})")
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"Expected 'z1' and 'z2' to be 2-D tensors of the same shape [N, D] "
                         f"(got {tuple(z1.shape)} and {tuple(z2.shape)})")


def check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"Expected 'temperature' to be > 0 (got {temperature})")


def check_batch_size(batch_size: Optional[int]) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"Expected 'batch_size' to be None or a positive int (got {batch_size!r})")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"Expected 'reduction' to be one of {REDUCTIONS} (got {reduction!r})")


def check_bias(pair_bias: Optional[Tensor], num_nodes: int) -> None:
    if pair_bias is not None and (not isinstance(pair_bias, Tensor) or pair_bias.shape != (num_nodes,)):
        shape = tuple(pair_bias.shape) if isinstance(pair_bias, Tensor) else type(pair_bias).__name__
        raise ValueError(f"Expected 'pair_bias' to be None or a tensor of shape [{num_nodes}] (got {shape})")


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def _block(a: Tensor, b: Tensor, col_bias: Optional[Tensor], start: int, end: int, temperature: float,
           include_positive: bool, extra_fn: Optional[ExtraFn]) -> Tensor:
    rows = a[start:end]
    inter = rows @ b.t()  # s(a_i, b_k), [B, N]
    intra = rows @ a.t()  # s(a_i, a_k), [B, N]
    if col_bias is not None:
        # s'_ik = s_ik + b_i + b_k: the row term b_i shifts the positive and every negative of row i equally and
        # cancels between numerator and log-denominator, so only the column term is added.
        inter = inter + col_bias
        intra = intra + col_bias
    inter = inter / temperature
    intra = intra / temperature
    ar = torch.arange(end - start, device=a.device)
    diag = ar + start
    pos = inter[ar, diag]
    neg_inf = torch.tensor(float('-inf'), dtype=inter.dtype, device=inter.device)
    intra = intra.index_put((ar, diag), neg_inf)
    if not include_positive:
        inter = inter.index_put((ar, diag), neg_inf)
    log_den = torch.logaddexp(inter.logsumexp(dim=1), intra.logsumexp(dim=1))
    if extra_fn is not None:
        log_den = torch.logaddexp(log_den, extra_fn(rows, a, b, inter, start, end).logsumexp(dim=1))
    return log_den - pos


def contrast_rows(a: Tensor, b: Tensor, temperature: float, batch_size: Optional[int] = None,
                  col_bias: Optional[Tensor] = None, include_positive: bool = True,
                  extra_fn: Optional[ExtraFn] = None) -> Tensor:
    r"""Per-anchor loss :math:`\ell(a_i, b_i)` for L2-normalised ``a`` and ``b`` (shape ``[N]``).

    .. math::
        \ell(a_i, b_i) = -\frac{s_{ii}^{ab}}{\tau} + \log\Big([e^{s_{ii}^{ab}/\tau}] + \sum_{k\ne i}
        e^{s_{ik}^{ab}/\tau} + \sum_{k\ne i} e^{s_{ik}^{aa}/\tau} + \sum_m e^{x_{im}}\Big)

    where the bracketed positive is present iff ``include_positive`` and :math:`x_{im}` are the extra logits.
    """
    n = a.size(0)
    bs = n if batch_size is None else min(batch_size, n)
    bias = None if col_bias is None else col_bias.unsqueeze(0)
    use_ckpt = bs < n and torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
    out = []
    for start in range(0, n, bs):  # loop over row blocks, not nodes
        end = min(start + bs, n)
        if use_ckpt:
            out.append(checkpoint(_block, a, b, bias, start, end, temperature, include_positive, extra_fn,
                                  use_reentrant=False))
        else:
            out.append(_block(a, b, bias, start, end, temperature, include_positive, extra_fn))
    return torch.cat(out) if len(out) > 1 else out[0]


def normalize_pair(z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor]:
    return F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
