"""Torch reference implementations of the kernels (CPU path and test oracle).

Accumulation is in fp32 for fp16/bf16/fp32 inputs and fp64 for fp64 inputs; outputs are cast
back to the input dtype.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["acc_dtype", "segment_sum_reference", "rowptr_to_index", "index_to_rowptr", "csr_aggregate_reference"]


def acc_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation dtype: fp64 for fp64, fp32 for everything else."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def segment_sum_reference(x: Tensor, labels: Tensor, num_segments: int) -> Tensor:
    r""":math:`C_k = \sum_{i: \ell_i = k} x_i` via ``index_add_`` with fp32 accumulation."""
    out = torch.zeros(num_segments, x.shape[1], dtype=acc_dtype(x.dtype), device=x.device)
    out.index_add_(0, labels, x.to(out.dtype))
    return out.to(x.dtype)


def index_to_rowptr(rows: Tensor, num_rows: int) -> Tensor:
    """CSR row pointer ``[num_rows + 1]`` (int64) of edges with these row ids (in any order: counts only)."""
    ptr = torch.zeros(num_rows + 1, dtype=torch.int64, device=rows.device)
    torch.cumsum(torch.bincount(rows, minlength=num_rows), 0, out=ptr[1:])
    return ptr


def rowptr_to_index(rowptr: Tensor, num_edges: int | None = None) -> Tensor:
    """Destination node of every edge from a CSR row pointer ``[N + 1]`` (int64 ``[E]``)."""
    n = rowptr.numel() - 1
    deg = rowptr[1:] - rowptr[:-1]
    if num_edges is None:
        num_edges = int(rowptr[-1]) if n >= 0 and rowptr.numel() > 0 else 0
    return torch.repeat_interleave(torch.arange(n, device=rowptr.device), deg, output_size=num_edges)


def csr_aggregate_reference(messages: Tensor, rowptr: Tensor, reduce: str = "sum",
                            edge_weight: Tensor | None = None,
                            return_argmax: bool = True) -> tuple[Tensor, Tensor | None]:
    """Reference CSR aggregation. Returns ``(out [N, d], argmax [N, d] or None)``.

    ``argmax`` (only for ``reduce="max"`` and ``return_argmax``) holds, per node and feature, the smallest edge id
    that attains the maximum, and ``-1`` for nodes without incoming edges.
    """
    n = rowptr.numel() - 1
    e, d = messages.shape
    acc = acc_dtype(messages.dtype)
    y = messages.to(acc)
    if edge_weight is not None:
        y = y * edge_weight.to(acc).unsqueeze(-1)
    dst = rowptr_to_index(rowptr, e)
    if reduce in ("sum", "mean"):
        out = torch.zeros(n, d, dtype=acc, device=messages.device).index_add_(0, dst, y)
        if reduce == "mean":
            deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).to(acc)
            out = out / deg.unsqueeze(-1)
        return out.to(messages.dtype), None
    # max: torch.segment_reduce works on the CSR offsets directly
    if e == 0:
        return torch.zeros(n, d, dtype=messages.dtype, device=messages.device), \
            torch.full((n, d), -1, dtype=torch.int64, device=messages.device) if return_argmax else None
    empty = (rowptr[1:] == rowptr[:-1]).unsqueeze(-1)
    out = torch.segment_reduce(y, "max", offsets=rowptr, axis=0, unsafe=True)
    if not return_argmax:
        return out.masked_fill(empty, 0.0).to(messages.dtype), None
    # first edge attaining the maximum: min over segments of the edge ids where y == max
    eids = torch.arange(e, device=messages.device, dtype=torch.float64).unsqueeze(-1)
    cand = torch.where(y == out.index_select(0, dst), eids, float("inf"))
    argmax = torch.segment_reduce(cand, "min", offsets=rowptr, axis=0, unsafe=True)
    argmax = argmax.masked_fill(empty, -1).to(torch.int64)
    out = out.masked_fill(empty, 0.0)
    return out.to(messages.dtype), argmax
