"""Node encoders built as stacks of :class:`~graphcl.nn.BackboneConv` (one shared base).

``GCNEncoder``, ``GATEncoder`` and ``GINEncoder`` differ only in the layer mode and in how
layer widths are chosen; the stacking, activation, dropout and forward are shared by
:class:`BackboneEncoder`.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import torch
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
                return_all: bool = False, num_sampled_nodes: Optional[Sequence[int]] = None):
        """Return the last layer's output, or the list of every layer's output when
        ``return_all`` (e.g. for GraphCL-style concatenation).

        With ``num_sampled_nodes`` (PyG's hierarchical feature computation, as
        :func:`torch_geometric.utils.trim_to_layer` for ``NeighborLoader`` batches) the nodes
        come ordered by hop, ``num_sampled_nodes[h]`` of them at hop :math:`h`, and only the
        hop-0 nodes' outputs are returned (of every layer with ``return_all``). Layer :math:`l`
        of :math:`L` then runs on the edges into nodes within :math:`L - 1 - l` hops only, the
        only outputs that reach hop 0; the result is that of the whole graph (up to dropout's
        random draws). The hops must bound the distances: every edge into a node at hop
        :math:`h < L` comes from hop :math:`h + 1` or less (true of sampled subgraphs and of
        their views with edges dropped). Edges are trimmed by the hop of their target, so
        per-hop edge counts are not needed; ``"gcn"`` layers keep the sources' full degrees.
        """
        if num_sampled_nodes is not None:
            return self._forward_trimmed(x, edge_index, edge_weight, edge_type, edge_attr,
                                         return_all, num_sampled_nodes)
        outs = []
        for i in range(len(self.convs)):
            x = self._layer(i, x, edge_index, edge_weight, edge_type, edge_attr)
            outs.append(x)
        return outs if return_all else x

    def _layer(self, i: int, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor],
               edge_type: Optional[Tensor], edge_attr: Optional[Tensor],
               rows: Optional[int] = None) -> Tensor:
        """Layer ``i``: convolution (its first ``rows`` outputs when given), activation, and
        dropout unless it is the last."""
        x = self.convs[i](x, edge_index, edge_weight, edge_type, edge_attr)[:rows]
        if i < len(self.acts):
            x = self.acts[i](x)
        if i < len(self.convs) - 1:
            x = F.dropout(x, p=self.dropout, training=self.training)
        return x

    def _forward_trimmed(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor],
                         edge_type: Optional[Tensor], edge_attr: Optional[Tensor],
                         return_all: bool, num_sampled_nodes: Sequence[int]):
        """The forward at the hop-0 nodes, each layer on the nodes and edges it needs."""
        counts = [int(n) for n in num_sampled_nodes]
        if not counts or min(counts) < 0 or sum(counts) != x.shape[0]:
            raise ValueError(f"Expected 'num_sampled_nodes' to be node counts per hop summing "
                             f"to the {x.shape[0]} rows of 'x' (got {list(num_sampled_nodes)})")
        cached = [i for i, conv in enumerate(self.convs) if conv.cached]
        if cached:
            raise ValueError(f"'num_sampled_nodes' needs layers without a cached graph (layers "
                             f"{cached} were built with cached=True)")
        last_hop = len(counts) - 1
        ends = torch.tensor(counts).cumsum(0).tolist()  # ends[h]: the nodes within h hops
        hops = torch.repeat_interleave(torch.arange(len(counts), device=edge_index.device),
                                       torch.tensor(counts, device=edge_index.device))
        target_hop = hops[edge_index[1]]
        degree = None  # "gcn": each node's weighted in-degree and whether it has a self-loop
        outs = []
        for i, conv in enumerate(self.convs):
            reach = self.num_layers - 1 - i  # this layer's outputs matter within `reach` hops
            if reach >= last_hop:
                x = self._layer(i, x, edge_index, edge_weight, edge_type, edge_attr)
            else:
                keep = target_hop <= reach
                layer_edges = [edge_index[:, keep], _select(edge_weight, keep),
                               _select(edge_type, keep), _select(edge_attr, keep)]
                if conv.mode == "gcn" and conv.normalize:
                    if degree is None:
                        degree = _in_degree(edge_index, edge_weight, x.shape[0], x.dtype)
                    layer_edges = _boundary_loops(conv, degree, ends[reach], ends[reach + 1],
                                                  *layer_edges)
                x = self._layer(i, _first_rows(x, ends[reach + 1]), *layer_edges, rows=ends[reach])
            outs.append(x[:counts[0]])
        return outs if return_all else outs[-1]

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"num_layers={self.num_layers}, activation={self.activation!r})")


def _select(t: Optional[Tensor], keep: Tensor) -> Optional[Tensor]:
    """The kept edges' entries of an optional per-edge tensor."""
    return None if t is None else t[keep]


def _first_rows(x: Tensor, n: int) -> Tensor:
    """The first ``n`` rows of a dense or a sparse CSR ``x`` (CSR: a view of its arrays)."""
    if n == x.shape[0]:
        return x
    if x.layout != torch.sparse_csr:
        return x[:n]
    crow = x.crow_indices()[:n + 1]
    end = int(crow[-1])
    return torch.sparse_csr_tensor(crow, x.col_indices()[:end], x.values()[:end], (n, x.shape[1]),
                                   check_invariants=False)


def _in_degree(edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int,
               dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    """Each node's summed incoming edge weight (1 per edge without weights) and whether it has a
    self-loop."""
    src, dst = edge_index
    weight = torch.ones(dst.numel(), dtype=dtype, device=dst.device) if edge_weight is None \
        else edge_weight.to(dtype)
    total = torch.zeros(num_nodes, dtype=dtype, device=dst.device).index_add(0, dst, weight)
    has_loop = torch.zeros(num_nodes, dtype=torch.bool, device=dst.device)
    has_loop[dst[src == dst]] = True
    return total, has_loop


def _boundary_loops(conv: BackboneConv, degree: Tuple[Tensor, Tensor], start: int, end: int,
                    edge_index: Tensor, edge_weight: Optional[Tensor], edge_type: Optional[Tensor],
                    edge_attr: Optional[Tensor]) -> List[Optional[Tensor]]:
    r"""A trimmed ``"gcn"`` layer's edges plus, for each boundary node (``start`` to ``end``: the
    sources whose own in-edges were trimmed), a self-loop weighted by its degree
    :math:`\hat d_j` in the whole graph: :math:`\hat d_j` stays that of the whole graph (the layer
    adds no loop where there is one), so the messages it sends are unchanged; what it receives
    itself is not used."""
    total, has_loop = degree
    nodes = torch.arange(start, end, device=edge_index.device)
    loop_weight = total[start:end]
    if conv.add_self_loops:
        fill = 2.0 if conv.improved else 1.0
        loop_weight = loop_weight + fill * (~has_loop[start:end]).to(loop_weight.dtype)
    weight = torch.ones(edge_index.shape[1], dtype=loop_weight.dtype, device=loop_weight.device) \
        if edge_weight is None else edge_weight.to(loop_weight.dtype)
    if edge_type is not None:  # the loops' messages only reach the boundary nodes: any type
        edge_type = torch.cat([edge_type, edge_type.new_zeros(nodes.numel())])
    return [torch.cat([edge_index, nodes.expand(2, -1)], dim=1), torch.cat([weight, loop_weight]),
            edge_type, edge_attr]


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
