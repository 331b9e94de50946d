"""CSR (destination-sorted) message aggregation with a Triton kernel and a torch reference."""
from __future__ import annotations

import torch
from torch import Tensor

from ._backend import resolve_backend
from .reference import acc_dtype, csr_aggregate_reference, rowptr_to_index

__all__ = ["REDUCTIONS", "CSRAggregateFunction", "csr_aggregate"]

REDUCTIONS = ("sum", "mean", "max")


def check_reduce(reduce: str) -> None:
    """Raise a :class:`ValueError` naming ``reduce`` and the choices when it is unknown."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"Expected 'reduce' to be one of {REDUCTIONS} (got {reduce!r})")


class CSRAggregateFunction(torch.autograd.Function):
    r"""Autograd function for :func:`csr_aggregate`.

    With :math:`y_e = w_e m_e`, backward is a gather by the destination :math:`v(e)` of each
    edge: :math:`\bar y_e = \bar o_{v(e)}` (sum), :math:`\bar o_{v(e)} / \deg v(e)` (mean), or
    :math:`\bar o_{v(e)}` on the arg-max entries only (max); then :math:`\bar m_e = w_e \bar y_e`
    and :math:`\bar w_e = \langle \bar y_e, m_e \rangle`.
    """

    @staticmethod
    def forward(ctx, messages: Tensor, rowptr: Tensor, reduce: str, edge_weight: Tensor | None,
                backend: str) -> Tensor:
        need_arg = reduce == "max" and (ctx.needs_input_grad[0] or ctx.needs_input_grad[3])
        if backend == "triton":
            from ._triton_csr import csr_aggregate_triton
            out, argmax = csr_aggregate_triton(messages, rowptr, reduce, edge_weight, return_argmax=need_arg)
        else:
            out, argmax = csr_aggregate_reference(messages, rowptr, reduce, edge_weight, return_argmax=need_arg)
        ctx.reduce = reduce
        ctx.m_dtype = messages.dtype
        ctx.w_dtype = edge_weight.dtype if edge_weight is not None else None
        ctx.num_edges = messages.shape[0]
        need_m = edge_weight is not None and ctx.needs_input_grad[3]
        ctx.save_for_backward(rowptr, argmax, edge_weight, messages if need_m else None)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        rowptr, argmax, edge_weight, messages = ctx.saved_tensors
        e = ctx.num_edges
        d = grad_out.shape[1]
        acc = acc_dtype(ctx.m_dtype)
        g = grad_out.to(acc)
        if ctx.reduce == "max":
            valid = argmax >= 0
            cols = torch.arange(d, device=g.device).expand_as(argmax)
            flat = (argmax * d + cols)[valid]
            grad_y = torch.zeros(e * d, dtype=acc, device=g.device).scatter(0, flat, g[valid])
            grad_y = grad_y.view(e, d)
        else:
            dst = rowptr_to_index(rowptr, e)
            if ctx.reduce == "mean":
                deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).to(acc)
                g = g / deg.unsqueeze(-1)
            grad_y = g.index_select(0, dst)
        grad_m = grad_w = None
        if ctx.needs_input_grad[0]:
            gm = grad_y if edge_weight is None else grad_y * edge_weight.to(acc).unsqueeze(-1)
            grad_m = gm.to(ctx.m_dtype)
        if edge_weight is not None and ctx.needs_input_grad[3]:
            grad_w = (grad_y * messages.to(acc)).sum(-1).to(ctx.w_dtype)
        return grad_m, None, None, grad_w, None


def csr_aggregate(messages: Tensor, rowptr: Tensor, reduce: str = "sum",
                  edge_weight: Tensor | None = None, backend: str | None = None) -> Tensor:
    r"""Aggregate destination-sorted edge messages per node (CSR layout).

    .. math::
        \mathbf{o}_v = \bigoplus_{e \in [\mathrm{rowptr}_v, \mathrm{rowptr}_{v+1})} w_e \mathbf{m}_e,
        \qquad \bigoplus \in \{\sum, \mathrm{mean}, \max\}

    Nodes without incoming edges get 0 for every reduction. Accumulation is fp32 (fp64 for
    fp64 inputs), the output has the dtype of ``messages``. The Triton kernel uses one program
    per block of destination rows looping over their edge ranges (no atomics). For ``"max"``
    the gradient goes to the first edge (smallest id) that attains the maximum.

    Args:
        messages (Tensor): messages sorted by destination, shape :math:`(E, d)`.
        rowptr (Tensor): CSR row pointer, shape :math:`(N + 1,)`, ``rowptr[-1] == E``.
        reduce (str, optional): ``"sum"``, ``"mean"`` or ``"max"``. (default: :obj:`"sum"`)
        edge_weight (Tensor, optional): per-edge scale :math:`w_e`, shape :math:`(E,)`.
            (default: :obj:`None`)
        backend (str, optional): ``"auto"``, ``"triton"`` or ``"torch"``; ``None`` reads
            ``GRAPHCL_KERNELS_BACKEND``. (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(E, d)`, :math:`(N + 1,)`, optional :math:`(E,)`
        - **output:** :math:`(N, d)`

    Example:
        >>> m = torch.tensor([[1.], [2.], [4.]])
        >>> csr_aggregate(m, torch.tensor([0, 2, 2, 3]), reduce="mean")
        tensor([[1.5000],
                [0.0000],
                [4.0000]])
    """
    check_reduce(reduce)
    if not isinstance(messages, Tensor) or messages.dim() != 2:
        raise ValueError("Expected 'messages' to be a 2-D tensor (got shape "
                         f"{tuple(messages.shape) if isinstance(messages, Tensor) else type(messages).__name__})")
    if not messages.dtype.is_floating_point:
        raise TypeError(f"Expected 'messages' to be a floating-point tensor (got {messages.dtype})")
    if not isinstance(rowptr, Tensor) or rowptr.dim() != 1 or rowptr.numel() < 1:
        raise ValueError("Expected 'rowptr' to be a 1-D tensor of length N + 1 >= 1 (got shape "
                         f"{tuple(rowptr.shape) if isinstance(rowptr, Tensor) else rowptr!r})")
    if rowptr.dtype.is_floating_point or rowptr.dtype == torch.bool:
        raise TypeError(f"Expected 'rowptr' to be an integer tensor (got {rowptr.dtype})")
    if edge_weight is not None and (edge_weight.dim() != 1 or edge_weight.numel() != messages.shape[0]):
        raise ValueError(f"Expected 'edge_weight' to have shape ({messages.shape[0]},) "
                         f"(got {tuple(edge_weight.shape)})")
    if not rowptr.is_cuda and rowptr.numel() > 0 and int(rowptr[-1]) != messages.shape[0]:
        raise ValueError(f"Expected 'rowptr[-1]' to equal the number of messages {messages.shape[0]} "
                         f"(got {int(rowptr[-1])})")
    rowptr = rowptr.to(torch.int64)
    chosen = resolve_backend(backend, messages)
    return CSRAggregateFunction.apply(messages, rowptr, reduce, edge_weight, chosen)
