"""Segment sum (meta-node sums) with a Triton kernel and a torch reference."""
from __future__ import annotations

import torch
from torch import Tensor

from ._backend import resolve_backend
from .reference import segment_sum_reference

__all__ = ["SegmentSumFunction", "segment_sum"]


class SegmentSumFunction(torch.autograd.Function):
    r"""Autograd function for :func:`segment_sum`.

    Forward :math:`C_k = \sum_{i:\ell_i=k} x_i`; backward is the gather
    :math:`\partial L / \partial x_i = \partial L / \partial C_{\ell_i}`.
    """

    @staticmethod
    def forward(ctx, x: Tensor, labels: Tensor, num_segments: int, backend: str) -> Tensor:
        if backend == "triton":
            from ._triton_segment_sum import segment_sum_triton
            out = segment_sum_triton(x, labels, num_segments)
        else:
            out = segment_sum_reference(x, labels, num_segments)
        ctx.save_for_backward(labels)
        ctx.x_dtype = x.dtype
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (labels,) = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_out.index_select(0, labels).to(ctx.x_dtype)
        return grad_x, None, None, None


def segment_sum(x: Tensor, labels: Tensor, num_segments: int, backend: str | None = None) -> Tensor:
    r"""Sum the rows of ``x`` into ``num_segments`` segments given hard labels.

    Used for the meta-node sums of PamC, :math:`C = H^\top Z` with a one-hot assignment
    :math:`H` given by ``labels`` (`"PamC" <https://arxiv.org/abs/2209.14067>`_ style losses).

    .. math::
        \mathbf{C}_k = \sum_{i \,:\, \ell_i = k} \mathbf{x}_i

    Accumulation is in fp32 (fp64 for fp64 inputs); the output has the dtype of ``x``
    (fp16/bf16 inputs give fp16/bf16 outputs of fp32-accumulated sums). Empty segments are 0.

    Args:
        x (Tensor): values, shape :math:`(N, d)` (fp32, fp16, bf16; fp64 on the torch path).
        labels (Tensor): integer segment id of each row in :math:`[0, K)`, shape :math:`(N,)`.
        num_segments (int): :math:`K`.
        backend (str, optional): ``"auto"``, ``"triton"`` or ``"torch"``; ``None`` reads
            ``GRAPHCL_KERNELS_BACKEND`` (default ``"auto"``). (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(N, d)`, :math:`(N,)`
        - **output:** :math:`(K, d)`

    Example:
        >>> x = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])
        >>> segment_sum(x, torch.tensor([1, 0, 1]), 3)
        tensor([[3., 4.],
                [6., 8.],
                [0., 0.]])
    """
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"Expected 'x' to be a 2-D tensor (got shape "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__})")
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.numel() != x.shape[0]:
        raise ValueError(f"Expected 'labels' to be a 1-D tensor of length {x.shape[0]} "
                         f"(got shape {tuple(labels.shape) if isinstance(labels, Tensor) else labels!r})")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"Expected 'labels' to be an integer tensor (got {labels.dtype})")
    if not x.dtype.is_floating_point:
        raise TypeError(f"Expected 'x' to be a floating-point tensor (got {x.dtype})")
    num_segments = int(num_segments)
    if num_segments < 0:
        raise ValueError(f"Expected 'num_segments' >= 0 (got {num_segments})")
    labels = labels.to(torch.int64)
    chosen = resolve_backend(backend, x)
    return SegmentSumFunction.apply(x, labels, num_segments, chosen)
