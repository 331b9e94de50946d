r"""The parameter-free low-pass graph filter shared by the methods that propagate features or embeddings."""
from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import APPNP
from torch_geometric.utils import to_torch_csr_tensor


class LowPassFilter(nn.Module):
    r"""``steps`` = :math:`K` rounds of parameter-free propagation over the GCN-normalised graph with self-loops,

    .. math::
        \mathrm{LP}_K(X) = \tilde{A}^K X,\qquad \tilde{A} = \hat{D}^{-1/2}(A + I)\hat{D}^{-1/2}

    as SGC (`Wu et al., 2019 <https://arxiv.org/abs/1902.07153>`_) filters its input and GGD
    (`Zheng et al., 2022 <https://arxiv.org/abs/2206.01535>`_) its embeddings. It is PyG's
    :class:`~torch_geometric.nn.conv.APPNP` with teleport :math:`\alpha = 0`; differentiable in :math:`X`;
    :math:`K = 0` is the identity.

    Args:
        steps (int): :math:`K \ge 0`.
        cached (bool, optional): keep the normalised graph of the first call (transductive use: every call must
            pass the same graph). (default: :obj:`True`)

    Example:
        >>> import torch
        >>> LowPassFilter(2)(torch.ones(3, 4), torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])).shape
        torch.Size([3, 4])
    """

    def __init__(self, steps: int, cached: bool = True):
        super().__init__()
        if int(steps) != steps or steps < 0:
            raise ValueError(f"Expected 'steps' to be an integer >= 0 (got {steps!r})")
        self.steps = int(steps)
        self.cached = cached
        self.propagate = APPNP(K=self.steps, alpha=0.0, cached=cached) if self.steps else None
        self._adj_t: Tensor | None = None

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        if self.propagate is None:
            return x
        adj_t = self._adj_t
        if adj_t is None:  # messages flow source -> target: row i of adj_t lists the sources of node i
            n = x.size(0)
            adj_t = to_torch_csr_tensor(edge_index.flip(0), size=(n, n))
            if self.cached:
                self._adj_t = adj_t
        return self.propagate(x, adj_t)

    def extra_repr(self) -> str:
        return f"steps={self.steps}"
