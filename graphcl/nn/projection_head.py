"""Two-layer MLP projection head (GRACE / SimCLR style)."""
from __future__ import annotations

from torch import Tensor, nn

from .activation import get_activation

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    r"""Projection head of `GRACE <https://arxiv.org/abs/2006.04131>`_ (after SimCLR):

    .. math::
        g(\mathbf{h}) = \mathbf{W}_2\, \sigma(\mathbf{W}_1 \mathbf{h} + \mathbf{b}_1) + \mathbf{b}_2

    with :math:`\sigma` = ELU by default (GRACE's ``fc1 -> ELU -> fc2``).

    Args:
        in_channels (int): input width.
        hidden_channels (int): width of ``fc1``.
        out_channels (int): output width.
        activation (str, optional): activation name (see
            :func:`~graphcl.nn.get_activation`). (default: :obj:`"elu"`)

    Shapes:
        - **input:** :math:`(N, F_{in})`
        - **output:** :math:`(N, F_{out})`

    Example:
        >>> import torch
        >>> head = ProjectionHead(16, 32, 16)
        >>> head(torch.randn(5, 16)).shape
        torch.Size([5, 16])
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int,
                 activation: str = "elu"):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.activation_name = activation
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.act = get_activation(activation)
        self.fc2 = nn.Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise both linear layers (PyTorch's default Linear init, as GRACE)."""
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
                f"{self.out_channels}, activation={self.activation_name!r})")
