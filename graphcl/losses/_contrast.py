"""Shared, row-batched core of the GRACE-style two-view contrastive losses.

Every loss in this package that contrasts node ``i`` of one view against all nodes of both views (InfoNCE,
Team-up, DCL, and the GRACE part of hard negative mixing) goes through :func:`contrast_both`, which picks
:func:`contrast_pair` (both directions at once, see there) or, where its exponentials would leave the float range
(extreme temperatures, other dtypes, a bias that needs a gradient), :func:`contrast_rows` (one direction at a
time, in log-space).
:func:`contrast_rows` processes the anchors in blocks of ``B`` rows, so each block only materialises two
``B x N`` similarity matrices; with autograd on, each block is wrapped in activation checkpointing, so the
``B x N`` blocks are recomputed in the backward pass instead of being kept alive for all blocks at once
(peak memory ``O(B N)`` instead of ``O(N^2)``, at the price of a second forward pass over each block).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

__all__ = ['TwoViewLoss', 'check_pair', 'check_temperature', 'check_batch_size', 'check_reduction', 'check_bias',
           'contrast_rows', 'contrast_pair', 'contrast_both', 'pair_supported', 'normalize_pair', 'reduce']

REDUCTIONS = ('mean', 'sum', 'none')

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


class TwoViewLoss(nn.Module):
    """Base of the two-view contrastive loss modules: validates and stores the temperature, the row-block size
    and the reduction shared by all of them."""

    def __init__(self, temperature: float = 0.5, batch_size: Optional[int] = None, reduction: str = 'mean'):
        super().__init__()
        check_temperature(temperature)
        check_batch_size(batch_size)
        check_reduction(reduction)
        self.temperature, self.batch_size, self.reduction = temperature, batch_size, reduction

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, batch_size={self.batch_size}'


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def _block(a: Tensor, b: Tensor, col_bias: Optional[Tensor], start: int, end: int, temperature: float,
           include_positive: bool) -> Tensor:
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
    return torch.logaddexp(inter.logsumexp(dim=1), intra.logsumexp(dim=1)) - pos


def contrast_rows(a: Tensor, b: Tensor, temperature: float, batch_size: Optional[int] = None,
                  col_bias: Optional[Tensor] = None, include_positive: bool = True) -> Tensor:
    r"""Per-anchor loss :math:`\ell(a_i, b_i)` for L2-normalised ``a`` and ``b`` (shape ``[N]``).

    .. math::
        \ell(a_i, b_i) = -\frac{s_{ii}^{ab}}{\tau} + \log\Big([e^{s_{ii}^{ab}/\tau}] + \sum_{k\ne i}
        e^{s_{ik}^{ab}/\tau} + \sum_{k\ne i} e^{s_{ik}^{aa}/\tau}\Big)

    where the bracketed positive is present iff ``include_positive``.
    """
    n = a.size(0)
    bs = n if batch_size is None else min(batch_size, n)
    bias = None if col_bias is None else col_bias.unsqueeze(0)
    use_ckpt = bs < n and torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
    out = []
    for start in range(0, n, bs):  # loop over row blocks, not nodes
        end = min(start + bs, n)
        if use_ckpt:
            out.append(checkpoint(_block, a, b, bias, start, end, temperature, include_positive,
                                  use_reentrant=False))
        else:
            out.append(_block(a, b, bias, start, end, temperature, include_positive))
    return torch.cat(out) if len(out) > 1 else out[0]


def normalize_pair(z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor]:
    return F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)


# Largest |exponent| the fused path lets exp() reach, per dtype (fp32 overflows past e^88.7 and loses normal
# numbers below e^-87.3; fp64 at about +-709). Past these bounds the logsumexp path (contrast_rows) is used.
_EXP_LIMIT = {torch.float32: 80.0, torch.float64: 700.0}


def pair_supported(a: Tensor, temperature: float, col_bias: Optional[Tensor] = None) -> bool:
    """Whether :func:`contrast_pair` computes the loss without overflow or underflow.

    Needs fp32/fp64 inputs, a bias that does not require grad, and exponents within range: every term
    :math:`e^{(s_{ik} + b_k - b_{max})/\\tau}` with :math:`|s_{ik}| \\le 1` lies in
    :math:`[e^{-(1 + \\Delta b)/\\tau}, e^{1/\\tau}]` (:math:`\\Delta b` the spread of the bias), and a row sums at
    most :math:`2N` of them.
    """
    limit = _EXP_LIMIT.get(a.dtype)
    if limit is None or a.size(0) == 0:
        return False
    spread = 0.0
    if col_bias is not None:
        if col_bias.requires_grad and torch.is_grad_enabled():
            return False
        spread = float(col_bias.max() - col_bias.min())
    low = (1.0 + spread) / temperature
    high = 1.0 / temperature + math.log(2.0 * a.size(0))
    return low <= limit and high <= limit  # False for NaN spreads


# Rows per block when no batch size is given: the blocks are then kept for the backward pass instead of being
# recomputed (memory about 2 N^2 floats), but each elementwise pass stays on a [B, N] block. 512 rows keep a
# block in a CPU's caches; on a GPU every block costs a dozen kernel launches and caches do not decide, so blocks
# are larger there (Photo: 2 blocks instead of 15; the H200 profile in docs/csgcl.md found Photo launch-bound).
_DENSE_BLOCK = {'cpu': 512, 'cuda': 4096}


def dense_block_rows(device: torch.device) -> int:
    """Rows per loss block on ``device`` when the caller gives no batch size."""
    return _DENSE_BLOCK.get(device.type, _DENSE_BLOCK['cpu'])


class _Workspace:
    """One reusable flat buffer handing out contiguous ``[B, M]`` tensors: blocks of up to ``B x N`` floats are
    tens of MB, and a fresh allocation of that size is page-faulted in again on every block."""

    def __init__(self, like: Tensor, numel: int):
        self.buf = like.new_empty(numel)

    def get(self, rows: int, cols: int) -> Tensor:
        return self.buf[:rows * cols].view(rows, cols)


def _exp_block(rows: Tensor, other: Tensor, inv_t: float, out: Optional[Tensor] = None) -> Tensor:
    """``exp(rows @ other^T / tau)`` as one matrix product and one in-place exp (into ``out`` when given)."""
    if out is None:
        return torch.mm(rows * inv_t, other.t()).exp_()
    return torch.mm(rows * inv_t, other.t(), out=out).exp_()


def _inter_block(a: Tensor, b: Tensor, start: int, end: int, inv_t: float, include_positive: bool,
                 out: Optional[Tensor] = None) -> Tensor:
    """``exp(a_I b^T / tau)`` for rows ``I = start:end``; the positives ``(i, i)`` are zeroed unless
    ``include_positive`` (DCL), which also zeroes their gradient, since the backward multiplies by this block."""
    e = _exp_block(a[start:end], b, inv_t, out)
    if not include_positive:
        e[:, start:end].diagonal().zero_()
    return e


def _intra_block(x: Tensor, start: int, end: int, inv_t: float, out: Optional[Tensor] = None) -> Tensor:
    """``exp(x_I x_{start:}^T / tau)`` for rows ``I = start:end``, with the self-similarities zeroed (``k != i``;
    zeroed before any sum, so nothing cancels against the large self term)."""
    e = _exp_block(x[start:end], x[start:], inv_t, out)
    e.diagonal().zero_()
    return e


def _weighted_rows(e: Tensor, beta: Optional[Tensor]) -> Tensor:
    return e.sum(dim=1) if beta is None else e @ beta


def _weighted_cols(e: Tensor, beta_rows: Optional[Tensor]) -> Tensor:
    return e.sum(dim=0) if beta_rows is None else beta_rows @ e


def _outer_sum(u: Tensor, v: Tensor, beta: Optional[Tensor], beta_rows: Optional[Tensor], out: Tensor) -> Tensor:
    """``u_i beta_k + beta_i v_k`` written into ``out`` (``[B, N]``; ``beta = 1`` when None)."""
    if beta is None:
        return torch.add(u.unsqueeze(1), v.unsqueeze(0), out=out)
    return torch.outer(u, beta, out=out).addr_(beta_rows, v)


class _PairLogDenominators(torch.autograd.Function):
    """Log-denominators of both directions of the two-view loss, sharing :math:`e^{S_{ab}/\tau}` and computing only
    the upper triangle of the symmetric :math:`e^{S_{aa}/\tau}, e^{S_{bb}/\tau}` (row block ``I`` against columns
    from ``I``'s first row on); see :func:`contrast_pair`. Gradients are written by hand."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, inv_t: float, block: int, keep: bool, beta: Optional[Tensor],
                include_positive: bool):
        n = a.size(0)
        keep = keep and (ctx.needs_input_grad[0] or ctx.needs_input_grad[1])
        den_a, den_b = a.new_zeros(n), b.new_zeros(n)
        saved = []
        ws = None if keep else _Workspace(a, min(block, n) * n)
        for start in range(0, n, block):  # loop over row blocks, not nodes
            end = min(start + block, n)
            rows, m = end - start, n - start
            beta_rows = None if beta is None else beta[start:end]
            e_ab = _inter_block(a, b, start, end, inv_t, include_positive, None if keep else ws.get(rows, n))
            den_a[start:end] += _weighted_rows(e_ab, beta)
            den_b += _weighted_cols(e_ab, beta_rows)
            if keep:
                saved.append(e_ab)
            for x, den in ((a, den_a), (b, den_b)):
                e = _intra_block(x, start, end, inv_t, None if keep else ws.get(rows, m))
                den[start:end] += _weighted_rows(e, None if beta is None else beta[start:])
                if end < n:  # the mirrored lower triangle: column sums of the off-diagonal part
                    den[end:] += _weighted_cols(e[:, rows:], beta_rows)
                if keep:
                    saved.append(e)
        ctx.inv_t, ctx.block, ctx.include_positive = inv_t, block, include_positive
        ctx.save_for_backward(a, b, den_a, den_b, beta, *saved)
        return den_a.log(), den_b.log()

    @staticmethod
    def backward(ctx, g_a: Optional[Tensor], g_b: Optional[Tensor]):
        a, b, den_a, den_b, beta, *saved = ctx.saved_tensors
        inv_t, block, n = ctx.inv_t, ctx.block, a.size(0)
        u = g_a / den_a if g_a is not None else den_a.new_zeros(n)
        v = g_b / den_b if g_b is not None else den_b.new_zeros(n)
        grad_a, grad_b = torch.zeros_like(a), torch.zeros_like(b)
        ws_g = _Workspace(a, min(block, n) * n)
        ws_e = None if saved else _Workspace(a, min(block, n) * n)
        for blk, start in enumerate(range(0, n, block)):
            end = min(start + block, n)
            rows, m = end - start, n - start
            sl = slice(start, end)
            beta_rows = None if beta is None else beta[sl]
            # d log den_a_i / dS_ab[i,k] = E_ik beta_k / den_a_i; d log den_b_k / dS_ab[i,k] = E_ik beta_i / den_b_k
            e_ab = saved[3 * blk] if saved else _inter_block(a, b, start, end, inv_t, ctx.include_positive,
                                                             ws_e.get(rows, n))
            g = _outer_sum(u[sl], v, beta, beta_rows, ws_g.get(rows, n)).mul_(e_ab)
            grad_a[sl].addmm_(g, b)
            grad_b.addmm_(g.t(), a[sl])
            # S_xx is symmetric: row i of (G + G^T) is E_ik (w_i beta_k + beta_i w_k), zero on the diagonal; the
            # strip holds the upper triangle, its off-diagonal part also stands for the lower one
            for k, (x, w, grad) in enumerate(((a, u, grad_a), (b, v, grad_b))):
                e = saved[3 * blk + 1 + k] if saved else _intra_block(x, start, end, inv_t, ws_e.get(rows, m))
                g = _outer_sum(w[sl], w[start:], None if beta is None else beta[start:], beta_rows,
                               ws_g.get(rows, m)).mul_(e)
                grad[sl].addmm_(g, x[start:])
                if end < n:
                    grad[end:].addmm_(g[:, rows:].t(), x[sl])
        return grad_a.mul_(inv_t), grad_b.mul_(inv_t), None, None, None, None, None


def contrast_pair(a: Tensor, b: Tensor, temperature: float, batch_size: Optional[int] = None,
                  col_bias: Optional[Tensor] = None, include_positive: bool = True) -> tuple[Tensor, Tensor]:
    r"""Per-anchor losses of both directions, :math:`(\ell(a_i, b_i), \ell(b_i, a_i))`, for L2-normalised
    ``a`` and ``b`` (the terms of :func:`contrast_rows`: InfoNCE, or DCL with ``include_positive=False``, where
    the positive pairs are zeroed in the exponential blocks before any sum).

    Both directions share the inter-view similarities (:math:`S_{ba} = S_{ab}^\top`) and the intra-view ones are
    symmetric, so each row block costs one ``B x N`` product and two ``B x (N - start)`` products (the upper
    triangle of :math:`S_{aa}, S_{bb}`) instead of four ``B x N`` products, and the log-sum-exp needs no per-row
    maximum: cosines are bounded, so :math:`e^{(s_{ik} + b_k - b_{max})/\tau}` is summed directly (callers check
    :func:`pair_supported` first). Column sums of the ``[B, N]`` block of :math:`e^{S_{ab}/\tau}` complete the
    second direction's denominators as blocks go by. The backward pass is analytic: with
    :math:`u_i = \bar g^a_i / D^a_i` and :math:`v_k = \bar g^b_k / D^b_k`,
    :math:`\partial / \partial S_{ab}[i,k] = E_{ik}(u_i\beta_k + \beta_i v_k)`, four products per block. With
    ``batch_size`` the blocks are recomputed in the backward pass into reused buffers (memory :math:`O(BN)`);
    without it the exponential blocks are kept for the backward pass (about :math:`2N^2` floats).
    """
    n = a.size(0)
    block = min(dense_block_rows(a.device) if batch_size is None else batch_size, n)
    inv_t = 1.0 / temperature
    if col_bias is None:
        beta, offset = None, 0.0
    else:
        bias = col_bias.detach()
        bmax = bias.max()
        beta, offset = ((bias - bmax) * inv_t).exp(), bmax * inv_t
    log_den_a, log_den_b = _PairLogDenominators.apply(a, b, inv_t, max(block, 1), batch_size is None, beta,
                                                      include_positive)
    pos = (a * b).sum(dim=1)
    if col_bias is not None:
        pos = pos + col_bias
    pos = pos * inv_t
    return log_den_a + offset - pos, log_den_b + offset - pos


def contrast_both(a: Tensor, b: Tensor, temperature: float, batch_size: Optional[int] = None,
                  col_bias: Optional[Tensor] = None, include_positive: bool = True) -> tuple[Tensor, Tensor]:
    """Per-anchor losses of both directions, :math:`(\ell(a_i, b_i), \ell(b_i, a_i))`: the fused
    :func:`contrast_pair` where :func:`pair_supported` allows it (the usual case), else :func:`contrast_rows` once
    per direction (extreme temperatures, other dtypes, a bias that needs a gradient). The one dispatch every
    two-view loss goes through."""
    if pair_supported(a, temperature, col_bias):
        return contrast_pair(a, b, temperature, batch_size, col_bias, include_positive)
    return (contrast_rows(a, b, temperature, batch_size, col_bias, include_positive),
            contrast_rows(b, a, temperature, batch_size, col_bias, include_positive))
