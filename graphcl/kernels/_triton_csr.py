"""Triton CSR aggregation: one program per block of destination rows, no atomics.

Program ``(pid_r, pid_d)`` owns rows ``[pid_r * BLOCK_R, (pid_r + 1) * BLOCK_R)`` and feature
tile ``pid_d``. It loops over the edge ranges ``[rowptr[v], rowptr[v + 1])`` of its rows in
chunks of ``BLOCK_E`` edges per row (a ``[BLOCK_R, BLOCK_E, BLOCK_D]`` tile; each message row is
a contiguous ``BLOCK_D`` vector), reduces over the edge axis in fp32 registers (fp64 for fp64)
and writes every output row exactly once. The loop runs ``ceil(max_deg_in_block / BLOCK_E)``
times; lanes past a row's degree are masked (no memory traffic). ``max`` also records the
first edge attaining the maximum (used by the backward).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from ._jit import jitted, launch_options

_REDUCE_CODE = {"sum": 0, "mean": 1, "max": 2}


def _csr_aggregate_kernel(m_ptr, rowptr_ptr, w_ptr, out_ptr, arg_ptr, N, D, stride_m,
                          BLOCK_R: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_D: tl.constexpr,
                          REDUCE: tl.constexpr, HAS_W: tl.constexpr, ACC_F64: tl.constexpr,
                          STORE_ARG: tl.constexpr):
    pid_r = tl.program_id(0)
    pid_d = tl.program_id(1)
    rows = pid_r.to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    r_mask = rows < N
    start = tl.load(rowptr_ptr + rows, mask=r_mask, other=0)
    end = tl.load(rowptr_ptr + rows + 1, mask=r_mask, other=0)
    deg = end - start
    d_offs = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    d_mask = d_offs < D
    e_ar = tl.arange(0, BLOCK_E)
    if ACC_F64:
        acc_ty = tl.float64
    else:
        acc_ty = tl.float32
    if REDUCE == 2:
        acc = tl.full((BLOCK_R, BLOCK_D), float("-inf"), acc_ty)
        arg = tl.full((BLOCK_R, BLOCK_D), -1, tl.int64)
    else:
        acc = tl.zeros((BLOCK_R, BLOCK_D), acc_ty)
    max_deg = tl.max(deg, axis=0)
    for j in range(0, max_deg, BLOCK_E):
        pos = j + e_ar                                         # [E]
        e_mask = pos[None, :] < deg[:, None]                   # [R, E]
        eids = start[:, None] + pos[None, :]                   # [R, E] int64
        mask3 = e_mask[:, :, None] & d_mask[None, None, :]     # [R, E, D]
        ptrs = m_ptr + eids[:, :, None] * stride_m + d_offs[None, None, :]
        v = tl.load(ptrs, mask=mask3, other=0.0).to(acc_ty)
        if HAS_W:
            w = tl.load(w_ptr + eids, mask=e_mask, other=0.0).to(acc_ty)
            v = v * w[:, :, None]
        if REDUCE == 2:
            v = tl.where(mask3, v, float("-inf"))
            cmax = tl.max(v, axis=1)                           # [R, D]
            carg = tl.argmax(v, axis=1)                        # first index of the max
            has = (j < deg)[:, None]
            upd = (cmax > acc) | ((arg < 0) & has)
            acc = tl.where(upd, cmax, acc)
            arg = tl.where(upd, start[:, None] + j + carg, arg)
        else:
            acc += tl.sum(v, axis=1)
    if REDUCE == 1:
        acc = acc / tl.maximum(deg, 1)[:, None].to(acc_ty)
    if REDUCE == 2:
        acc = tl.where(arg >= 0, acc, 0.0)
    o_mask = r_mask[:, None] & d_mask[None, :]
    o_offs = rows[:, None] * D + d_offs[None, :]
    tl.store(out_ptr + o_offs, acc.to(out_ptr.dtype.element_ty), mask=o_mask)
    if STORE_ARG:
        tl.store(arg_ptr + o_offs, arg, mask=o_mask)


def csr_aggregate_triton(messages: Tensor, rowptr: Tensor, reduce: str = "sum",
                         edge_weight: Tensor | None = None, *, return_argmax: bool = True, block_r: int | None = None,
                         block_e: int | None = None, block_d: int | None = None,
                         num_warps: int | None = None, num_stages: int | None = None
                         ) -> tuple[Tensor, Tensor | None]:
    """Launch the CSR kernel; returns ``(out [N, d], argmax [N, d] int64 or None)``.

    ``argmax`` (first edge attaining the max, ``-1`` for empty rows) is written only for
    ``reduce="max"`` with ``return_argmax``.
    """
    n = rowptr.numel() - 1
    e, d = messages.shape
    out = torch.empty(n, d, dtype=messages.dtype, device=messages.device)
    store_arg = reduce == "max" and return_argmax
    argmax = torch.empty(n, d, dtype=torch.int64, device=messages.device) if store_arg else None
    if n == 0 or d == 0:
        return out, argmax
    if messages.stride(1) != 1:
        messages = messages.contiguous()
    rowptr = rowptr.contiguous()
    if e == 0:
        messages = torch.zeros(1, d, dtype=messages.dtype, device=messages.device)
    w = edge_weight.contiguous() if edge_weight is not None else messages
    br = block_r or 8
    be = block_e or 16
    bd = block_d or min(max(16, triton.next_power_of_2(d)), 64)
    grid = (triton.cdiv(n, br), triton.cdiv(d, bd))
    jitted(_csr_aggregate_kernel)[grid](
        messages, rowptr, w, out, argmax if argmax is not None else out, n, d, messages.stride(0),
        BLOCK_R=br, BLOCK_E=be, BLOCK_D=bd, REDUCE=_REDUCE_CODE[reduce],
        HAS_W=edge_weight is not None, ACC_F64=messages.dtype == torch.float64,
        STORE_ARG=store_arg, **launch_options(num_warps, num_stages))
    return out, argmax
