r"""The one message-passing layer of the project, :class:`BackboneConv`.

Every encoder (GCN/GAT/GIN node encoders, molecule encoders, KMPNN, the sequential
recommenders' self-attention encoder) is a stack of this layer. All modes share one skeleton::

    structure  -> self-loops / GCN normalisation (cached on request)
    transform  -> node-wise projections (per edge type when ``num_edge_types`` is set);
                  "nnconv": edge networks on the unique edge categories, x_j W(e) per
                  unique (category, source) pair
    message    -> coef_e * value_{src(e)}   (coef: GCN norm, edge weight or attention)
    aggregate  -> graphcl.kernels.aggregate(messages, dst, N, reduce="sum")
    update     -> bias / GIN MLP / head concat-mean / output projection / root weight

and the ``"attention"`` mode also has a dense path for padded batched sequences that
uses :func:`torch.nn.functional.scaled_dot_product_attention` with the same parameters.
"""
from __future__ import annotations

import math
import weakref
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn import Parameter
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import softmax

from graphcl.kernels import aggregate

__all__ = ["MODES", "EDGE_CONDITIONED_MODES", "BackboneConv"]

#: Modes of ``BackboneConv(mode=...)`` whose messages are node projections (no edge network).
MODES = ("gcn", "gin", "gat", "attention")
#: Modes whose message weights are computed from the edge attributes (``"nnconv"``: NNConv / KMPNN).
EDGE_CONDITIONED_MODES = ("nnconv",)
_ALL_MODES = MODES + EDGE_CONDITIONED_MODES
_ATTENTION_MODES = ("gat", "attention")
_EDGE_FEATURE_MODES = ("gin",) + _ATTENTION_MODES + EDGE_CONDITIONED_MODES
_AGGRS = ("sum", "mean")
# "nnconv": above this many distinct (edge type, edge attribute) categories in one call the edge network runs per
# edge (PyG NNConv's [E, in, out] weights) instead of per category.
_MAX_EDGE_CATEGORIES = 256


# One entry: the CSR structure of the last sparse feature matrix seen (its index tensors, held so that their
# storage stays valid) -> the permutation and index tensors of its transpose; see _SparseLinear.
_TRANSPOSE_CACHE: list = []


def _csr_transpose(x: Tensor) -> Tensor:
    """``x^T`` as CSR. The index part is computed once per CSR structure (column masks of one feature matrix
    share it: only the values change), later calls only gather the values."""
    crow, col = x.crow_indices(), x.col_indices()
    key = (crow.data_ptr(), col.data_ptr(), col.numel(), tuple(x.shape), x.device)
    if not (_TRANSPOSE_CACHE and _TRANSPOSE_CACHE[0][0] == key):
        n, f = x.shape
        row = torch.repeat_interleave(torch.arange(n, device=crow.device), crow[1:] - crow[:-1],
                                      output_size=col.numel())
        perm = torch.sort(col, stable=True)[1]
        crow_t = torch.zeros(f + 1, dtype=crow.dtype, device=crow.device)
        torch.cumsum(torch.bincount(col, minlength=f), 0, out=crow_t[1:])
        _TRANSPOSE_CACHE[:] = [(key, (crow, col), perm, crow_t, row[perm].to(col.dtype))]
    _, _, perm, crow_t, col_t = _TRANSPOSE_CACHE[0]
    return torch.sparse_csr_tensor(crow_t, col_t, x.values()[perm], (x.shape[1], x.shape[0]),
                                   check_invariants=False)


class _SparseLinear(torch.autograd.Function):
    """``x W^T`` for a CSR ``x`` without gradient; the weight gradient ``(x^T G)^T`` uses a cached transpose."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:
        ctx.x = x
        return torch.sparse.mm(x, weight.t())

    @staticmethod
    def backward(ctx, grad: Tensor):
        grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = torch.sparse.mm(_csr_transpose(ctx.x), grad.contiguous()).t()
        return None, grad_w


class _TypedLinear(nn.Module):
    r"""A linear map, or one linear map per relation when ``num_types`` is set.

    Untyped: ``weight`` has shape ``[out, in]`` (same layout as :class:`torch.nn.Linear`,
    so state dicts copy over) and ``forward`` returns ``[N, out]``. Typed: ``weight`` has
    shape ``[T, out, in]`` and ``forward`` returns ``[N, T, out]`` (``x W_t^T`` for all t).
    """

    def __init__(self, in_channels: int, out_channels: int, num_types: Optional[int] = None,
                 bias: bool = True):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_types = num_types
        lead = () if num_types is None else (num_types,)
        self.weight = Parameter(torch.empty(*lead, out_channels, in_channels))
        if bias:
            self.bias = Parameter(torch.empty(*lead, out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        w = self.weight if self.num_types is not None else self.weight.unsqueeze(0)
        for t in range(w.shape[0]):  # init loop over relations only (not a hot path)
            nn.init.xavier_uniform_(w[t])
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        # sparse features (bag-of-words): x W^T without densifying x
        if x.layout == torch.sparse_csr and not x.requires_grad:
            if self.num_types is not None:
                raise ValueError("Sparse CSR features are only supported by untyped layers")
            out = _SparseLinear.apply(x, self.weight)
            return out if self.bias is None else out + self.bias
        if self.num_types is None:
            return F.linear(x, self.weight, self.bias)
        out = torch.einsum("ni,toi->nto", x, self.weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        types = "" if self.num_types is None else f", num_types={self.num_types}"
        return f"{self.in_channels}, {self.out_channels}{types}, bias={self.bias is not None}"


def _self_loops(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor],
                edge_type: Optional[Tensor], edge_attr: Optional[Tensor], *, replace: bool,
                fill_weight: float, loop_type: int, dtype: torch.dtype = torch.float32
                ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """Add self-loops, keeping edge weights, types and attributes aligned.

    ``replace=True`` (GAT): drop existing loops, add one loop per node (weight 1).
    ``replace=False`` (GCN, PyG's ``add_remaining_self_loops``): keep existing loops and add
    one (weight ``fill_weight``) to every node without one. Added loops get relation
    ``loop_type`` and, for ``edge_attr``, the mean attribute of the node's incoming non-loop
    edges (PyG's ``fill_value="mean"``).
    """
    src, dst = edge_index[0], edge_index[1]
    is_loop = src == dst
    dev = edge_index.device
    if replace:
        keep = ~is_loop
        nodes = torch.arange(num_nodes, device=dev)
        kept = edge_index[:, keep]
    else:
        keep = None
        has_loop = torch.zeros(num_nodes, dtype=torch.bool, device=dev)
        has_loop[src[is_loop]] = True
        nodes = (~has_loop).nonzero().view(-1)
        kept = edge_index
    n_new = nodes.numel()
    out_index = torch.cat([kept, nodes.unsqueeze(0).expand(2, -1)], dim=1)

    def _take(t: Tensor) -> Tensor:
        return t if keep is None else t[keep]

    if edge_weight is not None or fill_weight != 1.0:
        base = _take(edge_weight) if edge_weight is not None else torch.ones(
            kept.shape[1], dtype=dtype, device=dev)
        edge_weight = torch.cat([base, base.new_full((n_new,), fill_weight)])
    if edge_type is not None:
        edge_type = torch.cat([_take(edge_type), edge_type.new_full((n_new,), loop_type)])
    if edge_attr is not None:
        attr = _take(edge_attr)
        non_loop = kept[0] != kept[1]
        mean = aggregate(attr[non_loop], kept[1][non_loop], num_nodes, reduce="mean")
        edge_attr = torch.cat([attr, mean[nodes]], dim=0)
    return out_index, edge_weight, edge_type, edge_attr


# One entry: (weak reference + version of the input edge_index and edge_weight, settings) -> normalised
# (edge_index, edge_weight) of an untyped "gcn" layer; see BackboneConv._structure.
_STRUCTURE_MEMO: list = []


def _ref(t: Optional[Tensor]):
    return None if t is None else (weakref.ref(t), t._version)


def _same(entry, t: Optional[Tensor]) -> bool:
    if t is None or entry is None:
        return t is None and entry is None
    return entry[0]() is t and entry[1] == t._version


def _structure_memo(edge_index: Tensor, edge_weight: Optional[Tensor], key: tuple):
    if _STRUCTURE_MEMO:
        ref_index, ref_weight, k, value = _STRUCTURE_MEMO[0]
        if k == key and _same(ref_index, edge_index) and _same(ref_weight, edge_weight):
            return value
    return None


def _grouped_matmul(x: Tensor, weight: Tensor, counts: list) -> Tensor:
    """``[x_g W_g]_g``: the rows of ``x`` come in consecutive groups of ``counts[g]`` rows, group ``g`` is
    multiplied by ``weight[g]`` (``[G, in, out]``). One matmul per group (the groups are edge categories, a few
    dozen for molecules)."""
    return torch.cat([xs @ weight[g] for g, xs in enumerate(torch.split(x, counts))], dim=0)


def _group_rows(values: Tensor, inverse: Tensor, num_groups: int, first: Tensor) -> Tensor:
    """Representative rows of groups of identical rows: the value of ``values[first]`` exactly, the gradient of the
    group mean (each member row receives ``1/size`` of the group's gradient)."""
    rows = values[first]
    if not (values.requires_grad and torch.is_grad_enabled()):
        return rows
    mean = aggregate(values, inverse, num_groups, reduce="mean")
    return rows.detach() + (mean - mean.detach())


class BackboneConv(nn.Module):
    r"""The shared message-passing layer: GCN, GIN, GAT and transformer attention in one.

    Node-wise, with :math:`\mathcal{N}(i)` the sources of edges into :math:`i`, :math:`w_{ji}`
    the optional edge weight and :math:`\tau(j,i)` the optional edge type:

    * ``"gcn"`` (`Kipf & Welling, 2017 <https://arxiv.org/abs/1609.02907>`_), with
      self-loops and :math:`\hat d_i = 1 + \sum_j w_{ji}`:

      .. math::
          \mathbf{x}'_i = \sum_{j \in \mathcal{N}(i) \cup \{i\}}
          \frac{w_{ji}}{\sqrt{\hat d_j \hat d_i}} \mathbf{W}_{\tau(j,i)} \mathbf{x}_j + \mathbf{b}

    * ``"gin"`` (`Xu et al., 2019 <https://arxiv.org/abs/1810.00826>`_):

      .. math::
          \mathbf{x}'_i = h_{\Theta}\Big((1 + \epsilon)\mathbf{x}_i +
          \sum_{j \in \mathcal{N}(i)} w_{ji} \mathbf{W}_{\tau(j,i)} \mathbf{x}_j\Big)

      (:math:`\mathbf{W}_\tau` only with typed edges, else the identity). With ``edge_dim`` the
      message adds the projected edge features, :math:`w_{ji} (\mathbf{W}_{\tau(j,i)} \mathbf{x}_j +
      \mathbf{W}_e \mathbf{e}_{ji} + \mathbf{b}_e)`: the GIN of `Hu et al., 2020
      <https://arxiv.org/abs/1905.12265>`_ and MolCLR (bond embeddings added to the messages; PyG's
      ``GINEConv`` also applies a ReLU to the sum, this layer does not).

    * ``"gat"`` (`Veličković et al., 2018 <https://arxiv.org/abs/1710.10903>`_), per head
      :math:`h`, LeakyReLU slope ``negative_slope``:

      .. math::
          \alpha_{ji} = \operatorname{softmax}_{j}\big(\mathrm{LeakyReLU}(
          \mathbf{a}_s^\top \mathbf{W}_\tau \mathbf{x}_j + \mathbf{a}_d^\top \mathbf{W}_\tau
          \mathbf{x}_i + \mathbf{a}_e^\top \mathbf{W}_e \mathbf{e}_{ji})\big),\quad
          \mathbf{x}'_i = \big\Vert_h \text{ or } \operatorname{mean}_h
          \sum_j w_{ji}\,\alpha_{ji}\mathbf{W}_\tau \mathbf{x}_j + \mathbf{b}

    * ``"attention"`` (scaled dot-product, `Vaswani et al., 2017
      <https://arxiv.org/abs/1706.03762>`_; graph form of `Shi et al., 2021
      <https://arxiv.org/abs/2009.03509>`_), head size :math:`C = d_{out}/H`:

      .. math::
          \alpha_{ji} = \operatorname{softmax}_j\Big(\frac{(\mathbf{W}^Q\mathbf{x}_i)^\top
          (\mathbf{W}^K_\tau\mathbf{x}_j + \mathbf{W}_e\mathbf{e}_{ji})}{\sqrt{C}}\Big),\quad
          \mathbf{x}'_i = \mathbf{W}^O \big\Vert_h \sum_j w_{ji}\,\alpha_{ji}
          (\mathbf{W}^V_\tau\mathbf{x}_j + \mathbf{W}_e\mathbf{e}_{ji})

      (all four projections with bias). The dense path, ``x`` of shape :math:`(B, L, d)`
      with ``attn_mask`` / ``key_padding_mask`` / ``causal``, computes the same function on
      the complete (masked) graph of each sequence with
      :func:`torch.nn.functional.scaled_dot_product_attention`.

    * ``"nnconv"``, edge-conditioned messages (NNConv, `Gilmer et al., 2017
      <https://arxiv.org/abs/1704.01212>`_; with ``attention=True`` and two edge types the
      KMPNN layer of KCL, `Fang et al., 2022 <https://arxiv.org/abs/2112.00544>`_):

      .. math::
          \mathbf{W}_\tau(\mathbf{e}) = h^{\tau}_{\Theta}(\mathbf{e})
          \in \mathbb{R}^{F_{in} \times F_{out}},\quad
          \alpha_{ji} = \operatorname{softmax}_{j \in \mathcal{N}_{\tau(j,i)}(i)}\big(
          \mathrm{LeakyReLU}(\mathbf{a}^\top[\mathbf{x}_j \Vert \mathbf{x}_i])\big),

          \mathbf{x}'_i = \sum_{\tau} \sum_{j \in \mathcal{N}_\tau(i)} w_{ji}\,\alpha_{ji}\,
          \mathbf{x}_j \mathbf{W}_{\tau}(\mathbf{e}_{ji}) + \mathbf{x}_i \mathbf{\Theta}
          + \mathbf{b}

      with one edge network :math:`h^\tau_\Theta` per edge type (one without types),
      one attention vector :math:`\mathbf{a}` shared by the types (no bias), and
      :math:`\alpha = 1` without ``attention``; :math:`\mathbf{\Theta}` only with
      ``root_weight``; ``aggr="mean"`` divides by the in-degree within each type.
      The edge network runs once per distinct (type, ``edge_attr`` row) category and
      :math:`\mathbf{x}_j \mathbf{W}` once per distinct (category, source) pair, never
      materialising :math:`(E, F_{in}, F_{out})`; categorical edge attributes (bond features,
      KG relations) give a few dozen categories. ``edge_attr`` may be passed compressed as a
      table :math:`(U, D)` plus ``edge_attr_index`` :math:`(E,)`. Above 256 categories in
      one call (continuous attributes), or with ``unique_edges=False``, it runs per edge as
      PyG's ``NNConv``. Gradients of the edge networks and of a compressed table are exact;
      an uncompressed ``edge_attr`` receives, per category, the exact total split evenly over
      its identical rows (exact for rows looked up from embeddings by category).

    Softmaxes run over the incoming edges of each destination; with typed edges, separately
    within each (destination, type) group. All aggregations go through
    :func:`graphcl.kernels.aggregate`. With typed edges, added self-loops get the extra
    relation index ``num_edge_types`` (RGCN's root weight), so typed ``"gcn"``/``"gat"``
    layers with self-loops hold ``num_edge_types + 1`` weight slices.

    Args:
        in_channels (int): input width.
        out_channels (int): output width; for ``"gat"`` the width *per head*.
        mode (str, optional): one of :data:`MODES` or :data:`EDGE_CONDITIONED_MODES`.
            (default: :obj:`"gcn"`)
        heads (int, optional): attention heads (``"gat"``, ``"attention"``). (default: :obj:`1`)
        concat (bool, optional): ``"gat"``: concatenate heads (else average). (default: :obj:`True`)
        dropout (float, optional): dropout on attention coefficients. (default: :obj:`0.0`)
        bias (bool, optional): learn additive biases. (default: :obj:`True`)
        num_edge_types (int, optional): number of edge types; then ``edge_type`` is required.
            (default: :obj:`None`)
        edge_dim (int, optional): edge-attribute width (``"gin"``, ``"gat"``, ``"attention"``,
            ``"nnconv"``, where it is required unless ``edge_nn`` is given).
            (default: :obj:`None`)
        add_self_loops (bool, optional): add self-loops; default :obj:`True` for ``"gcn"`` and
            ``"gat"``, :obj:`False` otherwise. (default: :obj:`None`)
        normalize (bool, optional): ``"gcn"``: symmetric normalisation. (default: :obj:`True`)
        improved (bool, optional): ``"gcn"``: self-loop weight 2. (default: :obj:`False`)
        cached (bool, optional): ``"gcn"``: cache the normalised structure of the first call
            (transductive use only). (default: :obj:`False`)
        eps (float, optional): ``"gin"``: initial :math:`\epsilon`. (default: :obj:`0.0`)
        train_eps (bool, optional): ``"gin"``: learn :math:`\epsilon`. (default: :obj:`False`)
        gin_nn (nn.Module, optional): ``"gin"``: :math:`h_\Theta`; default
            ``Linear(in, out) -> ReLU -> Linear(out, out)``. (default: :obj:`None`)
        negative_slope (float, optional): ``"gat"``, ``"nnconv"`` with attention: LeakyReLU
            slope (KCL's KMPNN uses :obj:`0.01`, PyTorch's default). (default: :obj:`0.2`)
        edge_nn (nn.Module or sequence of nn.Module, optional): ``"nnconv"``: the edge
            network(s) :math:`h^\tau_\Theta` mapping :math:`(*, D)` to
            :math:`(*, F_{in} F_{out})`, one per edge type when ``num_edge_types`` is set;
            default ``Linear(edge_dim, edge_hidden_channels) -> ReLU -> Linear(.., in * out)``
            per type, or one ``Linear(edge_dim, in * out)`` without ``edge_hidden_channels``.
            (default: :obj:`None`)
        edge_hidden_channels (int, optional): ``"nnconv"``: hidden width of the default edge
            networks. (default: :obj:`None`)
        attention (bool, optional): ``"nnconv"``: KMPNN's per-type attention.
            (default: :obj:`False`)
        root_weight (bool, optional): ``"nnconv"``: add :math:`\mathbf{x}_i\mathbf{\Theta}`
            (PyG ``NNConv``'s ``root_weight``). (default: :obj:`False`)
        aggr (str, optional): ``"nnconv"``: ``"sum"`` or ``"mean"``. (default: :obj:`"sum"`)
        unique_edges (bool, optional): ``"nnconv"``: evaluate the edge networks per distinct
            edge category (False: per edge, PyG's memory profile). (default: :obj:`True`)

    Shapes:
        - **input (sparse):** ``x`` :math:`(N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E,)`, ``edge_type`` :math:`(E,)`, ``edge_attr``
          :math:`(E, D)` (or :math:`(U, D)` with ``edge_attr_index`` :math:`(E,)`, ``"nnconv"``)
        - **input (dense, attention):** ``x`` :math:`(B, L, F_{in})`, ``attn_mask``
          broadcastable to :math:`(B, H, L, L)` (bool, True = may attend, or additive
          float), ``key_padding_mask`` :math:`(B, L)` (bool, True = real token)
        - **output:** :math:`(N, F_{out})` (``H * out`` for ``"gat"`` with concat) or
          :math:`(B, L, F_{out})`

    Example:
        >>> import torch
        >>> conv = BackboneConv(8, 16, mode="gat", heads=2)
        >>> x, edge_index = torch.randn(4, 8), torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> conv(x, edge_index).shape
        torch.Size([4, 32])
    """

    def __init__(self, in_channels: int, out_channels: int, mode: str = "gcn", *,
                 heads: int = 1, concat: bool = True, dropout: float = 0.0, bias: bool = True,
                 num_edge_types: Optional[int] = None, edge_dim: Optional[int] = None,
                 add_self_loops: Optional[bool] = None, normalize: bool = True,
                 improved: bool = False, cached: bool = False, eps: float = 0.0,
                 train_eps: bool = False, gin_nn: Optional[nn.Module] = None,
                 negative_slope: float = 0.2,
                 edge_nn: Union[nn.Module, Sequence[nn.Module], None] = None,
                 edge_hidden_channels: Optional[int] = None, attention: bool = False,
                 root_weight: bool = False, aggr: str = "sum", unique_edges: bool = True):
        super().__init__()
        if mode not in _ALL_MODES:
            raise ValueError(f"Expected 'mode' to be one of {MODES} or the edge-conditioned "
                             f"{EDGE_CONDITIONED_MODES} (got {mode!r})")
        if int(heads) != heads or heads < 1:
            raise ValueError(f"Expected 'heads' to be a positive integer (got {heads!r})")
        if mode in ("gcn", "gin", "nnconv") and heads != 1:
            raise ValueError(f"Expected 'heads' = 1 for mode={mode!r} (got {heads}); heads are "
                             f"used by the attention modes {_ATTENTION_MODES}")
        if mode == "attention" and out_channels % heads != 0:
            raise ValueError(f"Expected 'out_channels' ({out_channels}) to be divisible by "
                             f"'heads' ({heads}) in mode='attention'")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Expected 'dropout' in [0, 1) (got {dropout!r})")
        if num_edge_types is not None and (int(num_edge_types) != num_edge_types
                                           or num_edge_types < 1):
            raise ValueError(f"Expected 'num_edge_types' to be a positive integer or None "
                             f"(got {num_edge_types!r})")
        if edge_dim is not None and mode not in _EDGE_FEATURE_MODES:
            raise ValueError(f"'edge_dim' is only supported by the modes {_EDGE_FEATURE_MODES} "
                             f"(got mode={mode!r})")
        if gin_nn is not None and mode != "gin":
            raise ValueError(f"'gin_nn' is only used by mode='gin' (got mode={mode!r})")
        if mode != "nnconv":
            given = [name for name, value, default in (
                ("edge_nn", edge_nn, None), ("edge_hidden_channels", edge_hidden_channels, None),
                ("attention", attention, False), ("root_weight", root_weight, False),
                ("aggr", aggr, "sum"), ("unique_edges", unique_edges, True)) if value != default]
            if given:
                raise ValueError(f"{given} only apply to mode='nnconv' (got mode={mode!r})")
        else:
            if aggr not in _AGGRS:
                raise ValueError(f"Expected 'aggr' to be one of {_AGGRS} (got {aggr!r})")
            if add_self_loops:
                raise ValueError("mode='nnconv' adds no self-loops (got add_self_loops=True); "
                                 "use root_weight=True for a self term")
            if edge_nn is None and edge_dim is None:
                raise ValueError("mode='nnconv' needs 'edge_dim' (the edge-attribute width) or "
                                 "'edge_nn' (got neither)")
            if edge_hidden_channels is not None and (int(edge_hidden_channels) != edge_hidden_channels
                                                     or edge_hidden_channels < 1):
                raise ValueError(f"Expected 'edge_hidden_channels' to be a positive integer or None "
                                 f"(got {edge_hidden_channels!r})")

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mode = mode
        self.heads = int(heads)
        self.concat = concat
        self.dropout = float(dropout)
        self.num_edge_types = num_edge_types
        self.edge_dim = edge_dim
        self.add_self_loops = (mode in ("gcn", "gat")) if add_self_loops is None \
            else bool(add_self_loops)
        self.normalize = normalize
        self.improved = improved
        self.cached = cached
        self.negative_slope = negative_slope
        self.initial_eps = eps
        self.attention = bool(attention)
        self.root_weight = bool(root_weight)
        self.aggr = aggr
        self.unique_edges = bool(unique_edges)
        self.edge_hidden_channels = edge_hidden_channels
        self._cache: Optional[Tuple[Tensor, Optional[Tensor], Optional[Tensor]]] = None

        # relation slices: the edge types, plus one for added self-loops
        if num_edge_types is None:
            self.num_relations: Optional[int] = None
        else:
            self.num_relations = int(num_edge_types) + int(self.add_self_loops)
        R = self.num_relations

        if mode == "gcn":
            self.lin = _TypedLinear(in_channels, out_channels, R, bias=False)
            self._optional_bias(out_channels, bias)
        elif mode == "gin":
            self.lin = _TypedLinear(in_channels, in_channels, R, bias=False) \
                if R is not None else None
            self.nn = gin_nn if gin_nn is not None else nn.Sequential(
                nn.Linear(in_channels, out_channels), nn.ReLU(),
                nn.Linear(out_channels, out_channels))
            self.lin_edge = nn.Linear(edge_dim, in_channels) if edge_dim is not None else None
            if train_eps:
                self.eps = Parameter(torch.empty(1))
            else:
                self.register_buffer("eps", torch.empty(1))
        elif mode == "gat":
            H, C = self.heads, out_channels
            self.lin = _TypedLinear(in_channels, H * C, R, bias=False)
            self.att_src = Parameter(torch.empty(1, H, C))
            self.att_dst = Parameter(torch.empty(1, H, C))
            if edge_dim is not None:
                self.lin_edge = nn.Linear(edge_dim, H * C, bias=False)
                self.att_edge = Parameter(torch.empty(1, H, C))
            else:
                self.lin_edge = None
                self.register_parameter("att_edge", None)
            self._optional_bias(H * C if concat else C, bias)
        elif mode == "nnconv":
            self.edge_nns = nn.ModuleList(self._edge_networks(edge_nn))
            self.att = nn.Linear(2 * in_channels, 1, bias=False) if attention else None
            self.lin_root = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None
            self._optional_bias(out_channels, bias)
        else:  # attention
            self.head_dim = out_channels // self.heads
            self.lin_query = nn.Linear(in_channels, out_channels, bias=bias)
            self.lin_key = _TypedLinear(in_channels, out_channels, R, bias=bias)
            self.lin_value = _TypedLinear(in_channels, out_channels, R, bias=bias)
            self.lin_out = nn.Linear(out_channels, out_channels, bias=bias)
            self.lin_edge = nn.Linear(edge_dim, out_channels, bias=False) \
                if edge_dim is not None else None
        self.reset_parameters()

    def _edge_networks(self, edge_nn) -> list:
        types = self.num_edge_types if self.num_edge_types is not None else 1
        if edge_nn is None:
            width = self.in_channels * self.out_channels
            if self.edge_hidden_channels is None:
                return [nn.Linear(self.edge_dim, width) for _ in range(types)]
            hid = int(self.edge_hidden_channels)
            return [nn.Sequential(nn.Linear(self.edge_dim, hid), nn.ReLU(), nn.Linear(hid, width))
                    for _ in range(types)]
        nets = list(edge_nn) if isinstance(edge_nn, (list, tuple, nn.ModuleList)) else [edge_nn]
        if len(nets) != types or not all(isinstance(n, nn.Module) for n in nets):
            raise ValueError(f"Expected 'edge_nn' to be one module per edge type ({types}) "
                             f"(got {len(nets)} item(s))")
        return nets

    def _optional_bias(self, channels: int, bias: bool) -> None:
        if bias:
            self.bias = Parameter(torch.empty(channels))
        else:
            self.register_parameter("bias", None)

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self) -> None:
        """Re-initialise parameters (Glorot weights, zero biases) and clear the cache."""
        self._cache = None
        for m in self.children():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            else:
                for sub in m.modules():
                    if sub is not m and hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
        if self.mode == "attention":
            for lin in (self.lin_query, self.lin_out):
                nn.init.xavier_uniform_(lin.weight)
                if lin.bias is not None:
                    nn.init.zeros_(lin.bias)
            if self.lin_edge is not None:
                nn.init.xavier_uniform_(self.lin_edge.weight)
        if self.mode == "gat":
            nn.init.xavier_uniform_(self.att_src)
            nn.init.xavier_uniform_(self.att_dst)
            if self.lin_edge is not None:
                nn.init.xavier_uniform_(self.lin_edge.weight)
                nn.init.xavier_uniform_(self.att_edge)
        if self.mode == "gin":
            self.eps.data.fill_(self.initial_eps)
        if getattr(self, "bias", None) is not None:
            nn.init.zeros_(self.bias)

    @property
    def output_channels(self) -> int:
        """Width of the layer's output (``heads * out_channels`` for concatenating GAT)."""
        if self.mode == "gat" and self.concat:
            return self.heads * self.out_channels
        return self.out_channels

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None,
                edge_weight: Optional[Tensor] = None, edge_type: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, *, attn_mask: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None, causal: bool = False,
                edge_attr_index: Optional[Tensor] = None) -> Tensor:
        """Run the layer on a sparse graph (``x`` 2-D + ``edge_index``) or, in
        ``"attention"`` mode, on padded sequences (``x`` 3-D, no ``edge_index``).

        ``edge_attr_index`` (``"nnconv"`` only): ``edge_attr`` is then a table :math:`(U, D)`
        and edge :math:`e` has the attributes ``edge_attr[edge_attr_index[e]]``."""
        if edge_attr_index is not None and self.mode != "nnconv":
            raise ValueError(f"'edge_attr_index' is only used by mode='nnconv' (got mode={self.mode!r})")
        if x.dim() == 3:
            if edge_index is not None:
                raise ValueError("Expected either a sparse input (x of shape (N, F) with "
                                 "'edge_index') or a dense input (x of shape (B, L, F) "
                                 "without 'edge_index'), got a 3-D x with 'edge_index'")
            return self._forward_dense(x, attn_mask, key_padding_mask, causal,
                                       edge_weight, edge_type, edge_attr)
        if x.dim() != 2:
            raise ValueError(f"Expected 'x' of shape (N, F) or (B, L, F) (got {tuple(x.shape)})")
        if edge_index is None:
            raise ValueError("Expected 'edge_index' for a 2-D (sparse) input 'x'")
        if attn_mask is not None or key_padding_mask is not None or causal:
            raise ValueError("'attn_mask', 'key_padding_mask' and 'causal' apply to the dense "
                             "path only (x of shape (B, L, F)); encode them in 'edge_index'")
        if self.mode == "nnconv":
            return self._forward_nnconv(x, edge_index, edge_weight, edge_type, edge_attr,
                                        edge_attr_index)
        return self._forward_sparse(x, edge_index, edge_weight, edge_type, edge_attr)

    def _check_edges(self, edge_index: Tensor, edge_weight: Optional[Tensor],
                     edge_type: Optional[Tensor], edge_attr: Optional[Tensor],
                     edge_attr_index: Optional[Tensor] = None) -> None:
        if edge_index.dim() != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"Expected 'edge_index' of shape (2, E) (got {tuple(edge_index.shape)})")
        E = edge_index.shape[1]
        if edge_weight is not None and edge_weight.shape != (E,):
            raise ValueError(f"Expected 'edge_weight' of shape ({E},) (got {tuple(edge_weight.shape)})")
        if self.num_edge_types is None:
            if edge_type is not None:
                raise ValueError("Got 'edge_type' but the layer was built with "
                                 "num_edge_types=None; pass num_edge_types to the constructor")
        else:
            if edge_type is None:
                raise ValueError(f"Expected 'edge_type' (layer built with num_edge_types="
                                 f"{self.num_edge_types})")
            if edge_type.shape != (E,):
                raise ValueError(f"Expected 'edge_type' of shape ({E},) (got {tuple(edge_type.shape)})")
            if E > 0 and (int(edge_type.min()) < 0 or int(edge_type.max()) >= self.num_edge_types):
                raise ValueError(f"Expected 'edge_type' values in [0, {self.num_edge_types - 1}] "
                                 f"(got range [{int(edge_type.min())}, {int(edge_type.max())}])")
        if self.mode == "nnconv":
            if edge_attr is None:
                raise ValueError("Expected 'edge_attr' (mode='nnconv' computes its message weights "
                                 "from the edge attributes)")
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.view(-1, 1)
            rows = E if edge_attr_index is None else edge_attr.shape[0]
            if edge_attr.dim() != 2 or edge_attr.shape[0] != rows or (
                    self.edge_dim is not None and edge_attr.shape[1] != self.edge_dim):
                want = f"({'E' if edge_attr_index is None else 'U'}={rows}, {self.edge_dim or 'D'})"
                raise ValueError(f"Expected 'edge_attr' of shape {want} (got {tuple(edge_attr.shape)})")
            if edge_attr_index is not None:
                if edge_attr_index.shape != (E,) or edge_attr_index.dtype != torch.long:
                    raise ValueError(f"Expected 'edge_attr_index' to be a LongTensor of shape ({E},) "
                                     f"(got {edge_attr_index.dtype} {tuple(edge_attr_index.shape)})")
                if E > 0 and (int(edge_attr_index.min()) < 0 or int(edge_attr_index.max()) >= rows):
                    raise ValueError(f"Expected 'edge_attr_index' values in [0, {rows - 1}] (got range "
                                     f"[{int(edge_attr_index.min())}, {int(edge_attr_index.max())}])")
        elif edge_attr is not None:
            if self.edge_dim is None:
                raise ValueError(f"Got 'edge_attr' but the layer was built with edge_dim=None "
                                 f"(mode={self.mode!r}); pass edge_dim (modes {_EDGE_FEATURE_MODES})")
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.view(-1, 1)
            if edge_attr.shape != (E, self.edge_dim):
                raise ValueError(f"Expected 'edge_attr' of shape ({E}, {self.edge_dim}) "
                                 f"(got {tuple(edge_attr.shape)})")

    def _structure(self, edge_index: Tensor, edge_weight: Optional[Tensor],
                   edge_type: Optional[Tensor], edge_attr: Optional[Tensor], num_nodes: int,
                   dtype: torch.dtype):
        """Self-loops and (``"gcn"``) symmetric normalisation; cached on request.

        Untyped ``"gcn"`` structures without edge attributes are also memoised for the last
        input graph seen (same ``edge_index`` / ``edge_weight`` tensors, unmodified), so the
        layers of one encoder pass share one normalised graph, and with it one CSR matrix in
        :func:`graphcl.kernels.aggregate`.
        """
        if self.mode == "gcn" and self.cached and self._cache is not None:
            ei, w, et = self._cache
            return ei, w, et, edge_attr
        memo_key = None
        if (self.mode == "gcn" and edge_type is None and edge_attr is None
                and not (edge_weight is not None and edge_weight.requires_grad and torch.is_grad_enabled())):
            memo_key = (num_nodes, dtype, edge_index.device, self.add_self_loops, self.improved, self.normalize)
            hit = _structure_memo(edge_index, edge_weight, memo_key)
            if hit is not None:
                return hit[0], hit[1], None, None
        in_index, in_weight = edge_index, edge_weight
        loop_type = self.num_edge_types if self.num_edge_types is not None else 0
        if self.add_self_loops:
            fill = 2.0 if (self.mode == "gcn" and self.improved) else 1.0
            edge_index, edge_weight, edge_type, edge_attr = _self_loops(
                edge_index, num_nodes, edge_weight, edge_type, edge_attr,
                replace=(self.mode == "gat"), fill_weight=fill, loop_type=loop_type,
                dtype=dtype)
        if self.mode == "gcn" and self.normalize:
            # self-loops were added above, so gcn_norm only computes D^-1/2 A D^-1/2
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes,
                                               improved=self.improved, add_self_loops=False,
                                               dtype=dtype)
        if self.mode == "gcn" and self.cached:
            self._cache = (edge_index, edge_weight, edge_type)
        if memo_key is not None:
            _STRUCTURE_MEMO[:] = [(_ref(in_index), _ref(in_weight), memo_key, (edge_index, edge_weight))]
        return edge_index, edge_weight, edge_type, edge_attr

    def _forward_sparse(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor],
                        edge_type: Optional[Tensor], edge_attr: Optional[Tensor]) -> Tensor:
        self._check_edges(edge_index, edge_weight, edge_type, edge_attr)
        if edge_attr is not None and edge_attr.dim() == 1:
            edge_attr = edge_attr.view(-1, 1)
        N = x.shape[0]
        edge_index, edge_weight, edge_type, edge_attr = self._structure(
            edge_index, edge_weight, edge_type, edge_attr, N, x.dtype)
        src, dst = edge_index[0], edge_index[1]
        R = self.num_relations
        if R is None:
            j, group, num_groups = src, dst, N
        else:  # rows of the [N * R] relation-expanded node states; softmax per (dst, type)
            j, group, num_groups = src * R + edge_type, dst * R + edge_type, N * R

        # message: coef_e * value_{j(e)}
        coef, value = self._message(x, j, dst, group, num_groups, edge_attr)
        if edge_weight is not None:
            edge_weight = edge_weight.to(value.dtype)
        if coef is None and edge_attr is not None:  # "gin" with edge features: x_j + W_e e_ji per edge
            out = aggregate(value[j] + self.lin_edge(edge_attr), dst, N, reduce="sum", edge_weight=edge_weight)
        elif coef is None:  # value is the node table: the kernel gathers value[j] and scales by the weights
            out = aggregate(value, dst, N, reduce="sum", edge_weight=edge_weight, src=j)
        else:
            if edge_weight is not None:
                coef = coef * edge_weight.unsqueeze(-1)
            out = aggregate(value * coef.unsqueeze(-1), dst, N, reduce="sum")
        return self._update(x, out)

    def _forward_nnconv(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor],
                        edge_type: Optional[Tensor], edge_attr: Optional[Tensor],
                        edge_attr_index: Optional[Tensor]) -> Tensor:
        """``"nnconv"``: structure (none) -> message table per unique (category, source) pair
        -> one aggregation of ``coef_e * table[pair_e]`` over all edges -> update."""
        self._check_edges(edge_index, edge_weight, edge_type, edge_attr, edge_attr_index)
        if edge_attr.dim() == 1:
            edge_attr = edge_attr.view(-1, 1)
        N = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        if src.numel() == 0:
            return self._update(x, x.new_zeros(N, self.out_channels))
        table, pair = self._nnconv_messages(x, src, edge_type, edge_attr, edge_attr_index)
        coef = self._nnconv_coef(x, src, dst, edge_type, N)
        if edge_weight is not None:
            edge_weight = edge_weight.to(table.dtype)
            coef = edge_weight if coef is None else coef * edge_weight
        out = aggregate(table, dst, N, reduce="sum", edge_weight=coef, src=pair)
        return self._update(x, out)

    def _nnconv_messages(self, x: Tensor, src: Tensor, edge_type: Optional[Tensor],
                         edge_attr: Tensor, edge_attr_index: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """``(table [M, out], pair [E])`` with ``x_src(e) W_type(e)(attr_e) = table[pair[e]]``."""
        E, N = src.numel(), x.shape[0]
        if edge_attr_index is not None:
            rows, row_of_edge = edge_attr, edge_attr_index
        elif self.unique_edges and E > 0:
            uniq, row_of_edge = torch.unique(edge_attr.detach(), dim=0, return_inverse=True)
            first = torch.full((uniq.shape[0],), E, dtype=torch.long, device=src.device)
            first.scatter_reduce_(0, row_of_edge, torch.arange(E, device=src.device), reduce="amin")
            rows = _group_rows(edge_attr, row_of_edge, uniq.shape[0], first)
        else:
            rows, row_of_edge = edge_attr, None
        U = rows.shape[0]
        category = None
        if row_of_edge is not None:
            category = row_of_edge if edge_type is None else edge_type * U + row_of_edge
            cats, cat_of_edge = torch.unique(category, return_inverse=True)
            if not self.unique_edges or cats.numel() > _MAX_EDGE_CATEGORIES:
                category = None
        if category is None:  # per edge, as PyG's NNConv: [E, in, out] weights
            attr = rows if row_of_edge is None else rows[row_of_edge]
            order, parts = [], []
            for t, net in enumerate(self.edge_nns):  # loop over the edge types only
                idx = torch.arange(E, device=src.device) if edge_type is None \
                    else (edge_type == t).nonzero().view(-1)
                if idx.numel() == 0:
                    continue
                w = self._edge_weights(net, attr[idx])
                parts.append(torch.bmm(x[src[idx]].unsqueeze(1), w).squeeze(1))
                order.append(idx)
            if not parts:
                return x.new_zeros(0, self.out_channels), src.new_zeros(0)
            order = torch.cat(order)
            pair = torch.empty_like(order)
            pair[order] = torch.arange(order.numel(), device=order.device)
            return torch.cat(parts), pair
        # edge networks once per category; categories are sorted by type, then table row
        cat_type = cats // U if edge_type is not None else torch.zeros_like(cats)
        cat_row = cats % U if edge_type is not None else cats
        weights = []
        for t, net in enumerate(self.edge_nns):  # loop over the edge types only
            sel = cat_row[cat_type == t]
            if sel.numel():
                weights.append(self._edge_weights(net, rows[sel]))
        weight = torch.cat(weights)                                            # [C, in, out]
        # x_j W once per distinct (category, source) pair; keys sorted by category
        keys, pair = torch.unique(cat_of_edge * N + src, return_inverse=True)
        pair_cat, pair_src = keys // N, keys % N
        counts = torch.bincount(pair_cat, minlength=cats.numel()).tolist()
        return _grouped_matmul(x[pair_src], weight, counts), pair

    def _edge_weights(self, net: nn.Module, attr: Tensor) -> Tensor:
        fin, fout = self.in_channels, self.out_channels
        w = net(attr)
        if w.dim() != 2 or w.shape[1] != fin * fout:
            raise ValueError(f"Expected the edge network to return shape (*, in_channels * out_channels"
                             f" = {fin * fout}) (got {tuple(w.shape)})")
        return w.view(-1, fin, fout)

    def _nnconv_coef(self, x: Tensor, src: Tensor, dst: Tensor, edge_type: Optional[Tensor],
                     N: int) -> Optional[Tensor]:
        """Per-edge scale: attention (softmax within each (destination, type) group) and, for
        ``aggr="mean"``, 1 / the group size; :obj:`None` when both are off."""
        T = self.num_edge_types or 1
        group = dst if edge_type is None else dst * T + edge_type
        coef = None
        if self.attention:
            a = self.att.weight.view(2, self.in_channels)                 # [a_src; a_dst]
            s = x @ a.t()                                                # [N, 2]
            logits = F.leaky_relu(s[src, 0] + s[dst, 1], self.negative_slope)
            coef = softmax(logits, group, num_nodes=N * T)
            coef = F.dropout(coef, p=self.dropout, training=self.training)
        if self.aggr == "mean":
            deg = torch.bincount(group, minlength=N * T).clamp(min=1).to(x.dtype)
            inv = 1.0 / deg[group]
            coef = inv if coef is None else coef * inv
        return coef

    def _expand(self, h: Tensor, *tail: int) -> Tensor:
        """``[N, (R,) F]`` -> ``[N * R or N, *tail]``."""
        return h.reshape(-1, *tail)

    def _message(self, x: Tensor, j: Tensor, dst: Tensor, group: Tensor, num_groups: int,
                 edge_attr: Optional[Tensor]) -> Tuple[Optional[Tensor], Tensor]:
        """``(None, node table [N(*R), F])`` for ``"gcn"``/``"gin"`` (the message of edge e is
        ``table[j[e]]``, gathered inside the aggregation), else per-edge
        ``(coef [E, H], value [E, H, C])``."""
        if self.mode == "gcn":
            return None, self._expand(self.lin(x), self.out_channels)
        if self.mode == "gin":
            return None, x if self.lin is None else self._expand(self.lin(x), self.in_channels)
        if self.mode == "gat":
            H, C = self.heads, self.out_channels
            h = self._expand(self.lin(x), H, C)                      # [N(*R), H, C]
            a_src = (h * self.att_src).sum(-1)
            a_dst = (h * self.att_dst).sum(-1)
            # destination side uses the same relation slice as the edge (W_tau x_i)
            logits = a_src[j] + a_dst[group]
            if edge_attr is not None:
                e = self.lin_edge(edge_attr).view(-1, H, C)
                logits = logits + (e * self.att_edge).sum(-1)
            logits = F.leaky_relu(logits, self.negative_slope)
            alpha = softmax(logits, group, num_nodes=num_groups)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
            return alpha, h[j]
        # attention
        H, C = self.heads, self.head_dim
        q = self.lin_query(x).view(-1, H, C)
        k = self._expand(self.lin_key(x), H, C)[j]
        v = self._expand(self.lin_value(x), H, C)[j]
        if edge_attr is not None:
            e = self.lin_edge(edge_attr).view(-1, H, C)
            k, v = k + e, v + e
        logits = (q[dst] * k).sum(-1) / math.sqrt(C)
        alpha = softmax(logits, group, num_nodes=num_groups)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return alpha, v

    def _update(self, x: Tensor, out: Tensor) -> Tensor:
        if self.mode == "gcn":
            return out if self.bias is None else out + self.bias
        if self.mode == "gin":
            return self.nn((1 + self.eps) * x + out)
        if self.mode == "gat":
            out = out.reshape(-1, self.heads * self.out_channels) if self.concat \
                else out.mean(dim=1)
            return out if self.bias is None else out + self.bias
        if self.mode == "nnconv":
            if self.lin_root is not None:
                out = out + self.lin_root(x)
            return out if self.bias is None else out + self.bias
        return self.lin_out(out.reshape(-1, self.out_channels))

    # ------------------------------------------------------------------ dense path
    def _forward_dense(self, x: Tensor, attn_mask: Optional[Tensor],
                       key_padding_mask: Optional[Tensor], causal: bool,
                       edge_weight: Optional[Tensor], edge_type: Optional[Tensor],
                       edge_attr: Optional[Tensor]) -> Tensor:
        if self.mode != "attention":
            raise ValueError(f"The dense input path (x of shape (B, L, F)) is only available "
                             f"in mode='attention' (got mode={self.mode!r})")
        if edge_weight is not None or edge_type is not None or edge_attr is not None:
            raise ValueError("'edge_weight', 'edge_type' and 'edge_attr' need the sparse path; "
                             "the dense path takes 'attn_mask', 'key_padding_mask', 'causal'")
        if self.num_edge_types is not None:
            raise ValueError("The dense path does not support typed edges "
                             f"(layer built with num_edge_types={self.num_edge_types})")
        B, L, _ = x.shape
        H, C = self.heads, self.head_dim
        q = self.lin_query(x).view(B, L, H, C).transpose(1, 2)
        k = self.lin_key(x).view(B, L, H, C).transpose(1, 2)
        v = self.lin_value(x).view(B, L, H, C).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        mask = _dense_mask(attn_mask, key_padding_mask, causal, B, L, x)
        if mask is None:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=causal)
        else:
            # rows without any allowed key: attend nowhere -> 0 (as a node without in-edges)
            if mask.dtype == torch.bool:
                empty = ~mask.any(dim=-1, keepdim=True)
                mask = mask | empty
            else:
                empty = torch.isneginf(mask).all(dim=-1, keepdim=True)
                mask = mask.masked_fill(empty, 0.0)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            out = out.masked_fill(empty, 0.0)
        return self.lin_out(out.transpose(1, 2).reshape(B, L, H * C))

    def __repr__(self) -> str:
        args = [f"{self.in_channels}", f"{self.out_channels}", f"mode={self.mode!r}"]
        if self.mode in _ATTENTION_MODES:
            args.append(f"heads={self.heads}")
        if self.mode == "gat" and not self.concat:
            args.append("concat=False")
        if self.num_edge_types is not None:
            args.append(f"num_edge_types={self.num_edge_types}")
        if self.edge_dim is not None:
            args.append(f"edge_dim={self.edge_dim}")
        if self.mode == "nnconv":
            args += [f"{k}={v!r}" for k, v, d in (
                ("edge_hidden_channels", self.edge_hidden_channels, None),
                ("attention", self.attention, False), ("root_weight", self.root_weight, False),
                ("aggr", self.aggr, "sum")) if v != d]
        return f"{self.__class__.__name__}({', '.join(args)})"


def _dense_mask(attn_mask: Optional[Tensor], key_padding_mask: Optional[Tensor], causal: bool,
                B: int, L: int, x: Tensor) -> Optional[Tensor]:
    """Combine the dense masks into one SDPA mask broadcastable to ``[B, H, L, L]``.

    Returns :obj:`None` when only ``causal`` (or nothing) is set, so SDPA can use
    ``is_causal``. Bool masks: True = may attend. Float masks are additive; boolean
    constraints are then added as ``-inf``.
    """
    if attn_mask is None and key_padding_mask is None:
        return None
    parts = []
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            attn_mask = attn_mask.view(1, 1, L, L)
        elif attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(1)
        elif attn_mask.dim() != 4:
            raise ValueError(f"Expected 'attn_mask' of shape (L, L), (B, L, L) or (B, H, L, L) "
                             f"(got {tuple(attn_mask.shape)})")
        if attn_mask.dtype != torch.bool and not attn_mask.is_floating_point():
            raise TypeError(f"Expected 'attn_mask' to be bool or floating (got {attn_mask.dtype})")
    if key_padding_mask is not None:
        if key_padding_mask.shape != (B, L) or key_padding_mask.dtype != torch.bool:
            raise ValueError(f"Expected 'key_padding_mask' to be a bool tensor of shape ({B}, {L}) "
                             f"(got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)})")
        parts.append(key_padding_mask.view(B, 1, 1, L))
    if causal:
        parts.append(torch.ones(L, L, dtype=torch.bool, device=x.device).tril().view(1, 1, L, L))
    allowed: Optional[Tensor] = None
    for part in parts:
        allowed = part if allowed is None else allowed & part
    if attn_mask is None:
        return allowed
    if attn_mask.dtype == torch.bool:
        return attn_mask if allowed is None else attn_mask & allowed
    attn_mask = attn_mask.to(x.dtype)
    if allowed is None:
        return attn_mask
    return attn_mask.masked_fill(~allowed, float("-inf"))
