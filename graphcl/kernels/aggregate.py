"""The single message-aggregation entry point used by the backbone layer."""
from __future__ import annotations

import torch
from torch import Tensor

from .csr_aggregate import REDUCTIONS, check_reduce, csr_aggregate

__all__ = ["REDUCTIONS", "aggregate"]


def aggregate(messages: Tensor, index: Tensor, num_nodes: int, reduce: str = "sum",
              edge_weight: Tensor | None = None, rowptr: Tensor | None = None,
              backend: str | None = None) -> Tensor:
    r"""Aggregate edge messages at their destination nodes.

    .. math::
        \mathbf{o}_v = \bigoplus_{e \,:\, \mathrm{index}_e = v} w_e \mathbf{m}_e,
        \qquad \bigoplus \in \{\sum, \mathrm{mean}, \max\}

    Dispatch: when ``rowptr`` is given (edges sorted by destination, ``index`` then only
    documents the destinations) the CSR path :func:`~graphcl.kernels.csr_aggregate` runs
    (Triton on CUDA); otherwise :func:`torch_geometric.utils.scatter`. Nodes without
    incoming edges give 0 for every reduction. Trailing dimensions (e.g. heads) are
    flattened for the reduction and restored in the output.

    Args:
        messages (Tensor): shape :math:`(E, d)` or :math:`(E, H, d)` (any trailing dims).
        index (Tensor): destination node of each edge, shape :math:`(E,)`.
        num_nodes (int): :math:`N`, the number of output rows.
        reduce (str, optional): ``"sum"``, ``"mean"`` or ``"max"``. (default: :obj:`"sum"`)
        edge_weight (Tensor, optional): per-edge scale, shape :math:`(E,)`. (default: :obj:`None`)
        rowptr (Tensor, optional): CSR row pointer :math:`(N + 1,)` of destination-sorted edges.
            (default: :obj:`None`)
        backend (str, optional): kernel backend for the CSR path (see
            :func:`~graphcl.kernels.csr_aggregate`). (default: :obj:`None`)

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
