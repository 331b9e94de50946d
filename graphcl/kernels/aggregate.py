"""The single message-aggregation entry point used by the backbone layer."""
from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor

from .csr_aggregate import REDUCTIONS, check_reduce, csr_aggregate
from .reference import index_to_rowptr

__all__ = ["REDUCTIONS", "aggregate", "fixed_adjacency", "spmm"]

# torch warns once per process that CSR tensors are "in beta"; the CSR paths here only use stable operations
# (construction and sparse-dense products), so the warning is silenced, as torch_geometric does.
warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta state.*")

_SPMM_DTYPES = (torch.float32, torch.float64)
# One entry: (signatures of index, src, edge_weight; num_nodes, num_src, reduce, dtype, device, the tensors)
# -> (A, A^T) as CSR tensors. The two layers of an encoder, and forward and backward, share one structure.
_CSR_CACHE: list = []


def _signature(t: Optional[Tensor]):
    """Identifies a tensor's content while the cache holds the tensor (so its memory cannot be reused): views
    such as ``edge_index[1]``, recreated on every call, match; an in-place change bumps the version."""
    if t is None:
        return None
    return t.data_ptr(), tuple(t.shape), t.stride(), t.dtype, t._version


def _csr(row: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int]) -> Tensor:
    """CSR matrix with entries ``(row[e], col[e]) += value[e]`` (duplicates kept; rows stably sorted)."""
    perm = torch.sort(row, stable=True)[1]
    return torch.sparse_csr_tensor(index_to_rowptr(row, shape[0]), col[perm], value[perm], shape,
                                   check_invariants=False)


def _adjacency(index: Tensor, src: Tensor, num_nodes: int, num_src: int, reduce: str,
               edge_weight: Optional[Tensor], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``A[v, u] = sum of w_e over edges u -> v`` (divided by the in-degree for ``"mean"``) and ``A^T``, cached
    for the last ``(index, src, edge_weight)`` seen."""
    key = (num_nodes, num_src, reduce, dtype, index.device,
           _signature(index), _signature(src), _signature(edge_weight))
    if _CSR_CACHE and _CSR_CACHE[0][0] == key:
        return _CSR_CACHE[0][2]
    dst, src = index.to(torch.int64), src.to(torch.int64)
    value = torch.ones(dst.numel(), dtype=dtype, device=dst.device) if edge_weight is None \
        else edge_weight.detach().to(dtype)
    if reduce == "mean":
        deg = torch.bincount(dst, minlength=num_nodes).clamp(min=1).to(dtype)
        value = value / deg[dst]
    mats = fixed_adjacency(dst, src, value, num_nodes, num_src)
    _CSR_CACHE[:] = [(key, (index, src, edge_weight), mats)]
    return mats


class _GatherAggregate(torch.autograd.Function):
    """``out = A @ x`` with a fixed sparse ``A``; backward ``A^T @ grad`` (both CSR, no transposition per call)."""

    @staticmethod
    def forward(ctx, x: Tensor, a: Tensor, a_t: Tensor) -> Tensor:
        ctx.a_t = a_t
        return torch.sparse.mm(a, x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return torch.sparse.mm(ctx.a_t, grad.contiguous()), None, None


def fixed_adjacency(dst: Tensor, src: Tensor, value: Tensor, num_nodes: int, num_src: int | None = None
                    ) -> tuple[Tensor, Tensor]:
    r"""A sparse matrix :math:`A_{vu} = \sum_{e: u \to v} w_e` (``num_nodes`` x ``num_src``, square by default) and
    its transpose, both CSR, for a caller that multiplies by the same :math:`A` many times (:func:`spmm`); unlike
    :func:`aggregate`'s one-entry cache, the caller keeps them."""
    num_src = num_nodes if num_src is None else num_src
    dst, src = dst.to(torch.int64), src.to(torch.int64)
    value = value.detach()
    return _csr(dst, src, value, (num_nodes, num_src)), _csr(src, dst, value, (num_src, num_nodes))


def spmm(adjacency: tuple[Tensor, Tensor], x: Tensor) -> Tensor:
    """``A @ x`` for ``adjacency = fixed_adjacency(...)``, differentiable in ``x`` (backward ``A^T @ grad``)."""
    a, a_t = adjacency
    return _GatherAggregate.apply(x.contiguous(), a, a_t)


def aggregate(messages: Tensor, index: Tensor, num_nodes: int, reduce: str = "sum",
              edge_weight: Tensor | None = None, rowptr: Tensor | None = None,
              backend: str | None = None, src: Tensor | None = None) -> Tensor:
    r"""Aggregate edge messages at their destination nodes.

    .. math::
        \mathbf{o}_v = \bigoplus_{e \,:\, \mathrm{index}_e = v} w_e \mathbf{m}_e,
        \qquad \bigoplus \in \{\sum, \mathrm{mean}, \max\}

    Dispatch: when ``rowptr`` is given (edges sorted by destination, ``index`` then only
    documents the destinations) the CSR path :func:`~graphcl.kernels.csr_aggregate` runs
    (Triton on CUDA); otherwise :func:`torch_geometric.utils.scatter`. Nodes without
    incoming edges give 0 for every reduction. Trailing dimensions (e.g. heads) are
    flattened for the reduction and restored in the output.

    With ``src`` the gather is fused: ``messages`` holds node states and the message of
    edge :math:`e` is ``messages[src[e]]``. For ``"sum"``/``"mean"`` with an edge weight
    that needs no gradient this is a sparse-dense product :math:`A X` with a CSR matrix
    :math:`A_{vu} = \sum_{e: u \to v} w_e` built once per ``(index, src, edge_weight)``
    (cached; the same tensors give the same matrix), so no :math:`(E, d)` message tensor
    and no scatter is materialised; otherwise it gathers and falls back to the paths above.

    Args:
        messages (Tensor): shape :math:`(E, d)` or :math:`(E, H, d)` (any trailing dims);
            with ``src``, node states :math:`(N_{src}, *)`.
        index (Tensor): destination node of each edge, shape :math:`(E,)`.
        num_nodes (int): :math:`N`, the number of output rows.
        reduce (str, optional): ``"sum"``, ``"mean"`` or ``"max"``. (default: :obj:`"sum"`)
        edge_weight (Tensor, optional): per-edge scale, shape :math:`(E,)`. (default: :obj:`None`)
        rowptr (Tensor, optional): CSR row pointer :math:`(N + 1,)` of destination-sorted edges.
            (default: :obj:`None`)
        backend (str, optional): kernel backend for the CSR path (see
            :func:`~graphcl.kernels.csr_aggregate`). (default: :obj:`None`)
        src (Tensor, optional): source node of each edge, shape :math:`(E,)`; fuses the
            gather ``messages[src]`` into the aggregation. (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(E, *)`, :math:`(E,)`
        - **output:** :math:`(N, *)`

    Example:
        >>> m = torch.tensor([[1.], [2.], [4.]])
        >>> aggregate(m, torch.tensor([0, 0, 2]), 3, reduce="max")
        tensor([[2.],
                [0.],
                [4.]])
    """
    check_reduce(reduce)
    if not isinstance(messages, Tensor) or messages.dim() < 1:
        raise ValueError("Expected 'messages' to be a tensor of shape (E, ...)")
    if src is not None:
        if not isinstance(src, Tensor) or src.dim() != 1 or not isinstance(index, Tensor) \
                or index.shape != src.shape:
            raise ValueError(f"Expected 'src' to be a 1-D tensor shaped like 'index' "
                             f"(got {tuple(src.shape) if isinstance(src, Tensor) else src!r})")
        w_grad = edge_weight is not None and edge_weight.requires_grad and torch.is_grad_enabled()
        if (reduce != "max" and rowptr is None and not w_grad and messages.dtype in _SPMM_DTYPES
                and messages.layout == torch.strided and (edge_weight is None or edge_weight.dim() == 1)):
            if int(num_nodes) < 0:
                raise ValueError(f"Expected 'num_nodes' >= 0 (got {num_nodes})")
            n_src = messages.shape[0]
            trailing = messages.shape[1:]
            a, a_t = _adjacency(index, src, int(num_nodes), n_src, reduce, edge_weight, messages.dtype)
            out = _GatherAggregate.apply(messages.reshape(n_src, -1), a, a_t)
            return out.reshape(int(num_nodes), *trailing)
        messages = messages[src]
    if not isinstance(index, Tensor) or index.dim() != 1 or index.numel() != messages.shape[0]:
        raise ValueError(f"Expected 'index' to be a 1-D tensor of length {messages.shape[0]} "
                         f"(got shape {tuple(index.shape) if isinstance(index, Tensor) else index!r})")
    num_nodes = int(num_nodes)
    if num_nodes < 0:
        raise ValueError(f"Expected 'num_nodes' >= 0 (got {num_nodes})")
    if rowptr is not None and rowptr.numel() != num_nodes + 1:
        raise ValueError(f"Expected 'rowptr' to have num_nodes + 1 = {num_nodes + 1} entries "
                         f"(got {rowptr.numel()})")
    e = messages.shape[0]
    trailing = messages.shape[1:]
    flat = messages.reshape(e, -1)
    if rowptr is not None:
        out = csr_aggregate(flat, rowptr, reduce, edge_weight, backend=backend)
    else:
        from torch_geometric.utils import scatter
        if edge_weight is not None:
            flat = flat * edge_weight.to(flat.dtype).unsqueeze(-1)
        out = scatter(flat, index.to(torch.int64), dim=0, dim_size=num_nodes, reduce=reduce)
    return out.reshape(num_nodes, *trailing)
