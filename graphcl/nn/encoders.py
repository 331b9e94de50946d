"""Node encoders built as stacks of :class:`~graphcl.nn.BackboneConv` (one shared base).

``GCNEncoder``, ``GATEncoder`` and ``GINEncoder`` differ only in the layer mode and in how
layer widths are chosen; the stacking, activation, dropout and forward are shared by
:class:`BackboneEncoder`.
"""
from __future__ import annotations

from typing import Any, List, Optional

import torch.nn.functional as F
from torch import Tensor, nn

from .activation import get_activation
from .backbone_conv import BackboneConv

__all__ = ["BackboneEncoder", "GCNEncoder", "GATEncoder", "GINEncoder"]


def _check_layers(num_layers: int) -> None:
    if int(num_layers) != num_layers or num_layers < 1:
        raise ValueError(f"Expected 'num_layers' to be a positive integer (got {num_layers!r})")


class BackboneEncoder(nn.Module):
    r"""A stack of :class:`BackboneConv` layers (the common base of the encoders).

    .. math::
        \mathbf{H}^{(l+1)} = \mathrm{drop}\big(\sigma_l(\mathrm{conv}_l(\mathbf{H}^{(l)},
        \mathcal{G}))\big)

    The activation is applied after every layer (also the last when ``act_last``, GRACE's
    encoder does so); dropout only between layers (PyG ``BasicGNN`` convention). Each layer
    gets its own activation module, so ``"prelu"`` is learnable per layer.

    Args:
        convs (list of BackboneConv): the layers.
        activation (str, optional): activation name. (default: :obj:`"relu"`)
        dropout (float, optional): feature dropout between layers. (default: :obj:`0.0`)
        act_last (bool, optional): apply the activation after the last layer.
            (default: :obj:`True`)

    Shapes:
        - **input:** ``x`` :math:`(N, F_{in})`, ``edge_index`` :math:`(2, E)`, optional
          ``edge_weight`` / ``edge_type`` :math:`(E,)`, ``edge_attr`` :math:`(E, D)`
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(self, convs: List[BackboneConv], activation: str = "relu",
                 dropout: float = 0.0, act_last: bool = True):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Expected 'dropout' in [0, 1) (got {dropout!r})")
        self.convs = nn.ModuleList(convs)
        n_act = len(convs) if act_last else len(convs) - 1
        self.acts = nn.ModuleList([get_activation(activation) for _ in range(n_act)])
        self.activation = activation
        self.dropout = float(dropout)
        self.act_last = act_last
        self.in_channels = convs[0].in_channels
        self.out_channels = convs[-1].output_channels

    @property
    def num_layers(self) -> int:
        return len(self.convs)

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        for act in self.acts:
            if hasattr(act, "reset_parameters"):
                act.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                edge_type: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                return_all: bool = False):
        """Return the last layer's output, or the list of every layer's output when
        ``return_all`` (e.g. for GraphCL-style concatenation)."""
        outs = []
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index, edge_weight, edge_type, edge_attr)
            if i < len(self.acts):
                x = self.acts[i](x)
            if i < last:
                x = F.dropout(x, p=self.dropout, training=self.training)
            outs.append(x)
        return outs if return_all else x

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"num_layers={self.num_layers}, activation={self.activation!r})")


def _widths(in_channels: int, hidden: int, out: int, num_layers: int) -> List[tuple]:
    dims = [in_channels] + [hidden] * (num_layers - 1) + [out]
    return list(zip(dims[:-1], dims[1:]))


class GCNEncoder(BackboneEncoder):
    r"""GCN encoder as in `GRACE <https://arxiv.org/abs/2006.04131>`_: widths
    :math:`F_{in} \to 2F_{out} \to \dots \to F_{out}`, activation after every layer.

    .. math::
        \mathbf{H}^{(l+1)} = \sigma\big(\hat{\mathbf{D}}^{-1/2}\hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2}\mathbf{H}^{(l)}\mathbf{W}^{(l)} + \mathbf{b}^{(l)}\big)

    Args:
        in_channels (int): input width.
        hidden_channels (int or None): hidden width; :obj:`None` means ``2 * out_channels``.
        out_channels (int): output width.
        num_layers (int, optional): number of layers. (default: :obj:`2`)
        activation (str, optional): ``"relu"``, ``"prelu"``, ``"rrelu"``, ``"elu"``, ...
            (default: :obj:`"relu"`)
        dropout (float, optional): dropout between layers. (default: :obj:`0.0`)
        act_last (bool, optional): activation after the last layer. (default: :obj:`True`)
        cached (bool, optional): cache the normalised graph (transductive). (default: :obj:`False`)
        **conv_kwargs: further :class:`BackboneConv` arguments (``num_edge_types``,
            ``add_self_loops``, ``improved``, ...).

    Example:
        >>> import torch
        >>> enc = GCNEncoder(8, None, 4)
        >>> enc(torch.randn(3, 8), torch.tensor([[0, 1], [1, 2]])).shape
        torch.Size([3, 4])
    """

    def __init__(self, in_channels: int, hidden_channels: Optional[int], out_channels: int,
                 num_layers: int = 2, activation: str = "relu", dropout: float = 0.0,
                 act_last: bool = True, cached: bool = False, **conv_kwargs: Any):
        _check_layers(num_layers)
        hidden = 2 * out_channels if hidden_channels is None else hidden_channels
        convs = [BackboneConv(i, o, mode="gcn", cached=cached, **conv_kwargs)
                 for i, o in _widths(in_channels, hidden, out_channels, num_layers)]
        super().__init__(convs, activation, dropout, act_last)
        self.hidden_channels = hidden


class GATEncoder(BackboneEncoder):
    r"""GAT encoder (`Veličković et al., 2018 <https://arxiv.org/abs/1710.10903>`_): hidden
    layers concatenate ``heads`` heads of ``hidden_channels // heads`` channels; the last
    layer averages ``heads`` heads of ``out_channels`` channels.

    Args:
        in_channels (int): input width.
        hidden_channels (int or None): total hidden width (divisible by ``heads``);
            :obj:`None` means ``2 * out_channels``.
        out_channels (int): output width.
        num_layers (int, optional): number of layers. (default: :obj:`2`)
        heads (int, optional): attention heads per layer. (default: :obj:`1`)
        activation (str, optional): activation name. (default: :obj:`"elu"`)
        dropout (float, optional): feature dropout between layers. (default: :obj:`0.0`)
        attn_dropout (float, optional): dropout on attention coefficients. (default: :obj:`0.0`)
        act_last (bool, optional): activation after the last layer. (default: :obj:`True`)
        **conv_kwargs: further :class:`BackboneConv` arguments.
    """

    def __init__(self, in_channels: int, hidden_channels: Optional[int], out_channels: int,
                 num_layers: int = 2, heads: int = 1, activation: str = "elu",
                 dropout: float = 0.0, attn_dropout: float = 0.0, act_last: bool = True,
                 **conv_kwargs: Any):
        _check_layers(num_layers)
        hidden = 2 * out_channels if hidden_channels is None else hidden_channels
        if hidden % heads != 0:
            raise ValueError(f"Expected 'hidden_channels' ({hidden}) to be divisible by "
                             f"'heads' ({heads})")
        convs = []
        for li, (i, o) in enumerate(_widths(in_channels, hidden, out_channels, num_layers)):
            last = li == num_layers - 1
            convs.append(BackboneConv(i, o if last else o // heads, mode="gat", heads=heads,
                                      concat=not last, dropout=attn_dropout, **conv_kwargs))
        super().__init__(convs, activation, dropout, act_last)
        self.hidden_channels = hidden
        self.heads = heads


class GINEncoder(BackboneEncoder):
    r"""GIN encoder (`Xu et al., 2019 <https://arxiv.org/abs/1810.00826>`_), each layer
    :math:`h_\Theta((1+\epsilon)\mathbf{x}_i + \sum_j \mathbf{x}_j)` with
    :math:`h_\Theta` = ``Linear -> ReLU -> Linear`` (as GraphCL's encoder).

    Args:
        in_channels (int): input width.
        hidden_channels (int or None): hidden width; :obj:`None` means ``2 * out_channels``.
        out_channels (int): output width.
        num_layers (int, optional): number of layers. (default: :obj:`2`)
        activation (str, optional): activation between layers. (default: :obj:`"relu"`)
        dropout (float, optional): dropout between layers. (default: :obj:`0.0`)
        train_eps (bool, optional): learn :math:`\epsilon`. (default: :obj:`False`)
        act_last (bool, optional): activation after the last layer. (default: :obj:`True`)
        **conv_kwargs: further :class:`BackboneConv` arguments.
    """

    def __init__(self, in_channels: int, hidden_channels: Optional[int], out_channels: int,
                 num_layers: int = 2, activation: str = "relu", dropout: float = 0.0,
                 train_eps: bool = False, act_last: bool = True, **conv_kwargs: Any):
        _check_layers(num_layers)
        hidden = 2 * out_channels if hidden_channels is None else hidden_channels
        convs = [BackboneConv(i, o, mode="gin", train_eps=train_eps, **conv_kwargs)
                 for i, o in _widths(in_channels, hidden, out_channels, num_layers)]
        super().__init__(convs, activation, dropout, act_last)
        self.hidden_channels = hidden
