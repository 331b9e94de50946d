r"""Bounds of a GCN encoder over every edge dropping an augmentation allows (POT's bound propagation).

From `"Provable Training for Graph Contrastive Learning" <https://arxiv.org/abs/2309.13944>`_ (Yu et al.,
NeurIPS 2023). An augmentation that drops edges with probability :math:`p_e` *allows* node :math:`i` to lose at most

.. math::
    q_i = \min\big(\max(\tilde d_i - 2, 0),\ \mathrm{round}(\textstyle\sum_{e \to i} p_e)\big)

of its incoming edges (:math:`\tilde d_i` its in-degree plus the self-loop; the expected number of drops, rounded half
to even, keeping at least one edge). Every allowed graph's GCN-normalised adjacency :math:`\hat A'` then lies, entry by
entry on the support of :math:`A + I`, between

.. math::
    \hat A^U_{ij} = \frac{1}{\sqrt{(\tilde d_i - q_i)(\tilde d_j - q_j)}},\qquad
    \hat A^L_{ij} = \begin{cases} \hat A_{ij} & \text{the edge cannot drop (self-loop, } q_i = 0
    \text{ or } p_e = 0) \\ 0 & \text{otherwise} \end{cases}

(degrees only fall, so a kept entry only grows). Everything here is kept on that support: :math:`O(E)` numbers, never
an :math:`N \times N` matrix. :func:`pre_activation_bounds` pushes these intervals through any number of GCN layers
(interval arithmetic with centre :math:`(\hat A^U + \hat A^L)/2` and radius :math:`(\hat A^U - \hat A^L)/2`);
:func:`compactness_lower_bound` back-substitutes a linear lower bound of :math:`c_i^\top h_i` through the last layer.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import Tensor, nn

from torch.utils.checkpoint import checkpoint
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from ..kernels import fixed_adjacency, spmm
from ..nn import BackboneConv, BackboneEncoder

__all__ = ["INTERCEPTS", "AdjacencyBounds", "activation_slope", "check_pot_encoder", "compactness_lower_bound",
           "drop_budget", "pre_activation_bounds", "relaxation", "view_adjacency", "view_compactness_lower_bound"]

#: Upper intercepts of an unstable ReLU-type neuron: ``"chord"`` (the tight, textbook line through
#: :math:`(l, \sigma(l))` and :math:`(u, \sigma(u))`) or ``"reference"`` (the POT code's looser
#: :math:`(a - 1) u l / (u - a l)`, sound for slopes :math:`0 \le a \le 1`).
INTERCEPTS = ("chord", "reference")


def drop_budget(edge_index: Tensor, num_nodes: int, drop_prob: Tensor | float) -> Tensor:
    r"""Allowed drops per node, :math:`q_i = \min(\max(\tilde d_i - 2, 0), \mathrm{round}(\sum_{e \to i} p_e))`.

    ``drop_prob`` is one probability for every edge (uniform edge removing) or one per edge (CSGCL's communal edge
    dropping); self-loops never drop. :math:`\tilde d_i` counts node :math:`i`'s incoming edges plus one self-loop,
    as the GCN normalisation does.
    """
    non_loop, deg = _gcn_in_degrees(edge_index, num_nodes)
    dst = edge_index[1][non_loop]
    p = torch.as_tensor(drop_prob, dtype=torch.float64, device=dst.device).expand(edge_index.shape[1:])
    expected = torch.zeros(num_nodes, dtype=torch.float64, device=dst.device).index_add_(0, dst, p[non_loop])
    return torch.minimum((deg - 2).clamp(min=0), torch.round(expected)).to(torch.int64)


def _gcn_in_degrees(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    r"""The non-loop edges (mask) and :math:`\tilde d` (in-degree without loops, plus one self-loop), float64."""
    non_loop = edge_index[0] != edge_index[1]
    return non_loop, torch.bincount(edge_index[1][non_loop], minlength=num_nodes).to(torch.float64) + 1


@dataclass
class AdjacencyBounds:
    r"""Entry-wise bounds :math:`\hat A^L \le \hat A' \le \hat A^U` of every allowed graph's normalised adjacency, on
    the support of :math:`A + I` (``dst``, ``src``: row and column of each entry; ``exact``: the undropped graph's
    :math:`\hat A`; ``budget``: :math:`q`)."""

    dst: Tensor
    src: Tensor
    lower: Tensor
    upper: Tensor
    exact: Tensor
    budget: Tensor
    num_nodes: int
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_drops(cls, edge_index: Tensor, num_nodes: int, drop_prob: Tensor | float,
                   dtype: torch.dtype = torch.float32) -> "AdjacencyBounds":
        """Bounds for the graph ``edge_index`` (unweighted; existing self-loops ignored, one added per node, as
        GCN's normalisation) under drops with probabilities ``drop_prob`` (one, or one per edge)."""
        if edge_index.numel() == 0 and num_nodes == 0:
            raise ValueError("POT needs a graph with at least one node (got an empty graph)")
        non_loop, deg = _gcn_in_degrees(edge_index, num_nodes)
        p = torch.as_tensor(drop_prob, dtype=torch.float64, device=edge_index.device).expand(edge_index.shape[1:])
        q = drop_budget(edge_index, num_nodes, p).to(torch.float64)
        nodes = torch.arange(num_nodes, device=edge_index.device)
        src = torch.cat([edge_index[0][non_loop], nodes])
        dst = torch.cat([edge_index[1][non_loop], nodes])
        exact = (deg[dst] * deg[src]).rsqrt()
        upper = ((deg[dst] - q[dst]) * (deg[src] - q[src])).rsqrt()
        droppable = torch.cat([(p[non_loop] > 0) & (q[edge_index[1][non_loop]] > 0),
                               torch.zeros(num_nodes, dtype=torch.bool, device=dst.device)])
        lower = torch.where(droppable, torch.zeros_like(exact), exact)
        return cls(dst, src, lower.to(dtype), upper.to(dtype), exact.to(dtype), q.to(torch.int64), num_nodes)

    def matrix(self, name: str) -> tuple[Tensor, Tensor]:
        """``"centre"`` :math:`(\hat A^U + \hat A^L)/2`, ``"radius"`` :math:`(\hat A^U - \hat A^L)/2` or ``"exact"``
        :math:`\hat A` as a CSR pair for :func:`~graphcl.kernels.spmm` (built once, kept)."""
        if name not in self._cache:
            values = {"centre": lambda: (self.upper + self.lower) / 2, "radius": lambda: (self.upper - self.lower) / 2,
                      "exact": lambda: self.exact}[name]()
            self._cache[name] = fixed_adjacency(self.dst, self.src, values, self.num_nodes)
        return self._cache[name]

    def diagonal_lower(self) -> "AdjacencyBounds":
        """These bounds with :math:`\hat A^L` kept on the diagonal only, as the POT code's ``A_lower`` (cached)."""
        if "diagonal" not in self._cache:
            self._cache["diagonal"] = replace(self, lower=self.lower.masked_fill(self.dst != self.src, 0), _cache={})
        return self._cache["diagonal"]


def activation_slope(act: nn.Module | None) -> Tensor | float:
    r"""The negative-side slope :math:`a` of a piecewise-linear activation :math:`\sigma(z) = z` (:math:`z \ge 0`),
    :math:`a z` (:math:`z < 0`): ReLU 0, LeakyReLU its slope, PReLU its (learnt, per-channel) weight, RReLU in
    evaluation mode its mean slope, no activation 1."""
    if act is None or isinstance(act, nn.Identity):
        return 1.0
    if isinstance(act, nn.ReLU):
        return 0.0
    if isinstance(act, nn.LeakyReLU):
        return float(act.negative_slope)
    if isinstance(act, nn.PReLU):
        return act.weight
    if isinstance(act, nn.RReLU) and not act.training:
        return (act.lower + act.upper) / 2
    raise ValueError(f"POT bounds piecewise-linear activations only: relu, prelu, leaky_relu, rrelu (its fixed slope) "
                     f"or identity; not rrelu_random while training (got {act!r}"
                     f"{' in training mode' if isinstance(act, nn.RReLU) else ''})")


def check_pot_encoder(encoder: nn.Module) -> None:
    """Raise a one-line ``ValueError`` unless ``encoder`` is a stack of plain GCN :class:`BackboneConv` layers (GCN
    normalisation with self-loops, untyped, unweighted) with piecewise-linear activations and no dropout."""
    if not isinstance(encoder, BackboneEncoder):
        raise ValueError(f"POT needs a BackboneEncoder of GCN layers (got {type(encoder).__name__})")
    for k, conv in enumerate(encoder.convs):
        if not (isinstance(conv, BackboneConv) and conv.mode == "gcn" and conv.num_relations is None
                and conv.normalize and conv.add_self_loops and not conv.improved):
            raise ValueError(f"POT needs plain GCN layers (mode 'gcn', normalised, self-loops, untyped); layer {k} "
                             f"is {conv!r}")
    for act in encoder.acts:
        activation_slope(act)
    if encoder.dropout > 0:
        raise ValueError(f"POT needs an encoder without dropout between layers (got dropout={encoder.dropout})")


def _activation(encoder: BackboneEncoder, k: int) -> nn.Module | None:
    return encoder.acts[k] if k < len(encoder.acts) else None


def _act(z: Tensor, a: Tensor | float) -> Tensor:
    r""":math:`\sigma(z) = z` for :math:`z \ge 0`, :math:`a z` below (one fused op)."""
    if isinstance(a, Tensor):
        return torch.nn.functional.prelu(z, a.to(z.dtype))
    return torch.nn.functional.leaky_relu(z, a) if a != 1.0 else z


def _image(lower: Tensor, upper: Tensor, a: Tensor | float) -> tuple[Tensor, Tensor]:
    r"""Bounds of :math:`\sigma(z)` for :math:`z \in [l, u]`: :math:`[\sigma(l), \sigma(u)]` when
    :math:`a \ge 0` (monotone); for a negative slope the extremes are at the ends or, when :math:`0 \in [l, u]`,
    at 0."""
    f_l, f_u = _act(lower, a), _act(upper, a)
    if bool((torch.as_tensor(a) >= 0).all()):
        return f_l, f_u
    low = torch.minimum(f_l, f_u)
    low = torch.where((lower < 0) & (upper > 0), torch.minimum(low, torch.zeros_like(low)), low)
    return low, torch.maximum(f_l, f_u)


def relaxation(lower: Tensor, upper: Tensor, a: Tensor | float, intercept: str = "chord"
               ) -> tuple[Tensor, Tensor, Tensor]:
    r"""Linear bounds :math:`\lambda z + \mu^L \le \sigma(z) \le \lambda z + \mu^U` on :math:`[l, u]` for
    :math:`\sigma(z) = \max(z, a z)`-type activations (any :math:`a`).

    Stable neurons are exact (:math:`\lambda = 1` for :math:`l \ge 0`, :math:`a` for :math:`u \le 0`, no intercept).
    Unstable ones (:math:`l < 0 < u`) take the chord's slope :math:`\lambda = (u - a l)/(u - l)` for both lines (as
    the POT code): for :math:`a \le 1` (convex) the lower line passes through the origin and the upper one is the chord,
    intercept :math:`(a - 1) u l / (u - l)` (``intercept="chord"``) or the POT code's looser
    :math:`(a - 1) u l / (u - a l)` (``"reference"``, used where :math:`0 \le a \le 1`); for :math:`a > 1` (concave)
    the roles swap. Returns :math:`(\lambda, \mu^L, \mu^U)`.

    With :math:`l' = \min(l, 0)`, :math:`u' = \max(u, 0)` one formula covers every case:
    :math:`\lambda = (\sigma(u') - \sigma(l'))/(u' - l')` and intercept :math:`(a - 1) u' l' / (u' - l')`, which is
    0 for stable neurons.
    """
    if intercept not in INTERCEPTS:
        raise ValueError(f"Expected 'pot_intercept' to be one of {INTERCEPTS} (got {intercept!r})")
    a = torch.as_tensor(a, dtype=lower.dtype, device=lower.device)
    tiny = torch.finfo(lower.dtype).tiny
    lo, hi = lower.clamp(max=0), upper.clamp(min=0)
    rise = hi - a * lo  # sigma(u') - sigma(l')
    width = (hi - lo).clamp(min=tiny)  # 0 only where l = u = 0: any slope is exact there
    slope = rise / width
    product = (a - 1) * hi * lo
    in_unit = bool(((a >= 0) & (a <= 1)).all())
    if in_unit:  # ReLU, LeakyReLU, fixed rrelu, PReLU with a usual slope: no element-wise choice needed
        top = product / (rise.clamp(min=tiny) if intercept == "reference" else width)
        return slope, torch.zeros_like(top), top
    chord = product / width
    convex = (a <= 1).to(lower.dtype)
    top = chord
    if intercept == "reference":
        usable = (a >= 0) & (a <= 1)
        top = torch.where(usable, product / torch.where(usable, rise, width).clamp(min=tiny), chord)
    return slope, (1 - convex) * chord, convex * top


def _relaxation(lower: Tensor, upper: Tensor, a: Tensor | float, intercept: str) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`relaxation`, recomputed in the backward pass instead of keeping its element-wise intermediates (a
    dozen :math:`N \times d` tensors per call; the recomputation is cheap, element-wise only)."""
    if not torch.is_grad_enabled():
        return relaxation(lower, upper, a, intercept)
    return checkpoint(relaxation, lower, upper, a, intercept, use_reentrant=False)


def _interval_product(bounds: AdjacencyBounds, low: Tensor, high: Tensor) -> tuple[Tensor, Tensor]:
    r"""Bounds of :math:`\hat A' Y` over :math:`\hat A^L \le \hat A' \le \hat A^U` and :math:`Y \in [low, high]`
    (entry-wise): :math:`C\,low - R\,|low|` and :math:`C\,high + R\,|high|` with centre :math:`C` and radius
    :math:`R` (exact for the box, since every entry of :math:`\hat A'` is non-negative)."""
    centre, radius = bounds.matrix("centre"), bounds.matrix("radius")
    if low is high:
        mid, spread = spmm(centre, low), spmm(radius, low.abs())
        return mid - spread, mid + spread
    d = low.shape[1]
    mid = spmm(centre, torch.cat([low, high], dim=1))
    spread = spmm(radius, torch.cat([low.abs(), high.abs()], dim=1))
    return mid[:, :d] - spread[:, :d], mid[:, d:] + spread[:, d:]


def _layer_bounds(encoder: BackboneEncoder, x: Tensor, bounds: AdjacencyBounds
                  ) -> tuple[list[tuple[Tensor, Tensor]], list[tuple[Tensor, Tensor]]]:
    r"""For each layer :math:`l`, bounds of what its weight multiplies after aggregation: :math:`\hat A' X W^{(1)}`
    for the first layer (``x`` fixed), :math:`\hat A' H^{(l-1)}` for the later ones; and the pre-activation bounds
    of every layer but the last, found on the way."""
    aggregated: list[tuple[Tensor, Tensor]] = []
    pre: list[tuple[Tensor, Tensor]] = []
    for k, conv in enumerate(encoder.convs):
        if k == 0:
            v = conv.lin(x)
            aggregated.append(_interval_product(bounds, v, v))
        else:
            pre.append(_pre_activation(encoder.convs[k - 1], k - 1, aggregated[-1]))
            slope = activation_slope(_activation(encoder, k - 1))
            aggregated.append(_interval_product(bounds, *_image(*pre[-1], slope)))
    return aggregated, pre


def _pre_activation(conv: BackboneConv, k: int, aggregated: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Layer k's pre-activation bounds from its aggregated-input bounds (centre/radius through the weight)."""
    low, high = aggregated
    if k > 0:
        mid = ((high + low) / 2) @ conv.lin.weight.t()
        spread = ((high - low) / 2) @ conv.lin.weight.abs().t()
        low, high = mid - spread, mid + spread
    if conv.bias is not None:
        low, high = low + conv.bias, high + conv.bias
    return low, high


def pre_activation_bounds(encoder: BackboneEncoder, x: Tensor, bounds: AdjacencyBounds
                          ) -> list[tuple[Tensor, Tensor]]:
    r"""Entry-wise bounds of every layer's pre-activation :math:`Z^{(l)} = \hat A' H^{(l-1)} W^{(l)} + b^{(l)}` over
    all allowed graphs, for fixed input features ``x`` (dense or sparse CSR).

    Layer 1 multiplies the interval adjacency by the fixed :math:`X W^{(1)}`; a later layer bounds the aggregation
    :math:`\hat A' H^{(l-1)}` with :math:`H^{(l-1)} \in [\sigma(l), \sigma(u)]`, then the product with
    :math:`W^{(l)}` by centre/radius arithmetic. Sound for every allowed graph (even a different one per layer).
    Cost: two or four sparse-dense products and two dense ones per layer, :math:`O(E d + N d^2)`.
    """
    aggregated, pre = _layer_bounds(encoder, x, bounds)
    last = len(encoder.convs) - 1
    return pre + [_pre_activation(encoder.convs[last], last, aggregated[last])]


def view_adjacency(edge_index: Tensor, num_nodes: int, dtype: torch.dtype = torch.float32
                   ) -> tuple[Tensor, Tensor]:
    r"""The GCN-normalised adjacency :math:`\tilde D^{-1/2}(A + I)\tilde D^{-1/2}` of a (view's) graph, as a CSR
    pair for :func:`~graphcl.kernels.spmm` (self-loops as :class:`~graphcl.nn.BackboneConv` adds them)."""
    index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True, dtype=dtype)
    return fixed_adjacency(index[1], index[0], weight, num_nodes)


def _output_relaxation(encoder: BackboneEncoder, aggregated: list[tuple[Tensor, Tensor]], weights: Tensor,
                       intercept: str) -> tuple[Tensor, Tensor]:
    r""":math:`\Lambda = c \odot \lambda` and the constant :math:`\Lambda^\top b + \sum_k c_k \mu_k` of the
    output layer's relaxation (:math:`\mu^L` where :math:`c_k \ge 0`, :math:`\mu^U` where :math:`c_k < 0`), so that
    :math:`c_i^\top h_i \ge \Lambda_i^\top (z_i - b) + \mathrm{const}_i` wherever :math:`z_i` is in its bounds."""
    last = len(encoder.convs) - 1
    conv = encoder.convs[last]
    low, high = _pre_activation(conv, last, aggregated[last])
    slope, mu_low, mu_high = _relaxation(low, high, activation_slope(_activation(encoder, last)), intercept)
    lam = weights * slope
    const = (weights.clamp(min=0) * mu_low + weights.clamp(max=0) * mu_high).sum(-1)
    if conv.bias is not None:
        const = const + lam @ conv.bias
    return lam, const


def _restricted(aggregated: list[tuple[Tensor, Tensor]], targets: Tensor | None) -> list[tuple[Tensor, Tensor]]:
    """The last layer's bounds kept for the targets' rows only."""
    if targets is None:
        return aggregated
    return aggregated[:-1] + [(aggregated[-1][0][targets], aggregated[-1][1][targets])]


def compactness_lower_bound(encoder: BackboneEncoder, x: Tensor, bounds: AdjacencyBounds, weights: Tensor,
                            targets: Tensor | None = None, intercept: str = "chord") -> Tensor:
    r"""A lower bound :math:`\tilde f_i \le c_i^\top h_i(\hat A')` for every allowed graph, for each target node.

    With :math:`[l, u]` the output layer's pre-activation bounds and :func:`relaxation` chosen by the sign of
    :math:`c_{ik}`: :math:`c_i^\top \sigma(z_i) \ge \Lambda_i^\top z_i + m_i`, :math:`\Lambda_i = c_i \odot
    \lambda_i`. Back-substituting :math:`z_i = W m_i' + b` with :math:`m_i' = (\hat A' H)_i` gives
    :math:`g_i^\top m_i' + \Lambda_i^\top b + m_i`, :math:`g_i = W^\top \Lambda_i`, bounded below over the box of
    :math:`m_i'` by :math:`g_i^{+\top} \underline{m}_i + g_i^{-\top} \overline{m}_i` (a one-layer encoder uses
    :math:`\Lambda_i` and the box of :math:`(\hat A' X W)_i` directly). Every step is node-wise: sparse-dense
    products and :math:`N \times d` tensors, no per-edge :math:`E \times d` tensor.

    Equals :math:`c_i^\top h_i` when no edge may drop and every neuron is stable.

    Args:
        encoder: a stack of GCN layers (:func:`check_pot_encoder`).
        x: input features (dense or sparse CSR), the view's own (after feature masking).
        bounds: the allowed graphs (:meth:`AdjacencyBounds.from_drops`).
        weights: :math:`c`, one row per target.
        targets: node ids of the rows of ``weights`` (default: all nodes).
        intercept: ``"chord"`` or ``"reference"`` (:func:`relaxation`).
    """
    aggregated = _restricted(_layer_bounds(encoder, x, bounds)[0], targets)
    lam, const = _output_relaxation(encoder, aggregated, weights, intercept)
    last = len(encoder.convs) - 1
    g = lam if last == 0 else lam @ encoder.convs[last].lin.weight
    m_low, m_high = aggregated[last]
    return const + (g.clamp(min=0) * m_low + g.clamp(max=0) * m_high).sum(-1)


def view_compactness_lower_bound(encoder: BackboneEncoder, x: Tensor, edge_index: Tensor, bounds: AdjacencyBounds,
                                 weights: Tensor, targets: Tensor | None = None, intercept: str = "chord") -> Tensor:
    r"""The POT code's training signal: the relaxed compactness :math:`\tilde f_i(\hat A_v) \le c_i^\top
    h_i(\hat A_v)` of the view's own graph ``edge_index``, with the relaxations chosen from the bounds over every
    allowed graph (``bounds``).

    The output layer and the layer below it are relaxed (:func:`relaxation`, one slope :math:`\lambda'` per neuron
    of the layer below, for either sign) and the linear function is evaluated on the view's graph:

    .. math::
        \tilde f_i = g_i^\top \big(\hat A_v (\lambda' \odot Z'_v)\big)_i + g_i^{+\top} (\hat A_v \mu'^L)_i
        + g_i^{-\top} (\hat A_v \mu'^U)_i + \Lambda_i^\top b + m_i

    with :math:`Z'_v` the lower layer's pre-activations on the view (a one-layer encoder: :math:`\Lambda_i^\top
    (z_{v,i} - b) + \mathrm{const}_i`). A lower bound of :math:`c_i^\top h_i(\hat A_v)` whenever the view's graph
    is one of the allowed ones (its pre-activations are then inside the bounds). :func:`compactness_lower_bound`
    holds for all of them at once; neither is below the other in general. Node-wise, like it.
    """
    aggregated, pre = _layer_bounds(encoder, x, bounds)
    aggregated = _restricted(aggregated, targets)
    lam, const = _output_relaxation(encoder, aggregated, weights, intercept)
    last = len(encoder.convs) - 1
    h = x
    for k in range(last):  # the view's forward pass up to the pre-activation of the layer below the output
        z = encoder.convs[k](h, edge_index)
        h = _act(z, activation_slope(_activation(encoder, k)))
    if last == 0:
        z = encoder.convs[0](x, edge_index)
        z = z if targets is None else z[targets]
        bias = encoder.convs[0].bias
        return const + (lam * (z if bias is None else z - bias)).sum(-1)
    slope, mu_low, mu_high = _relaxation(*pre[last - 1], activation_slope(_activation(encoder, last - 1)), intercept)
    d = z.shape[1]
    adjacency = view_adjacency(edge_index, bounds.num_nodes, z.dtype)
    mixed = spmm(adjacency, torch.cat([slope * z, mu_low, mu_high], dim=1))
    if targets is not None:
        mixed = mixed[targets]
    g = lam @ encoder.convs[last].lin.weight
    return (const + (g * mixed[:, :d]).sum(-1) + (g.clamp(min=0) * mixed[:, d:2 * d]).sum(-1)
            + (g.clamp(max=0) * mixed[:, 2 * d:]).sum(-1))


def reference_compactness_score(encoder: BackboneEncoder, x: Tensor, edge_index: Tensor, bounds: AdjacencyBounds,
                                weights: Tensor) -> Tensor:
    r"""The score the POT code trains on (``GRACE/model.py`` ``pot_loss`` with ``my_utils.get_crown_weights``), kept
    to reproduce it: **not a bound** in general (``docs/pot.md``). Two-layer encoders only, all nodes.

    Differences from :func:`view_compactness_lower_bound`: :math:`\hat A^L` keeps only the diagonal; the second layer's
    pre-activation bounds come from the undropped graph's first-layer output :math:`H = \sigma(\hat A X W_1 + b_1)`
    (``bounds.exact``); both relaxations use the POT code's intercept; the first layer's relaxation of target
    :math:`i` uses node :math:`i`'s own bounds for all its neighbours, the back-substituted weights of node :math:`j`
    are applied to node :math:`j`'s own features, and the intercepts are multiplied by the slopes:

    .. math::
        s_i = \big(\hat A_v (\hat A_v\, u + \tilde b_1)\big)_i + \tilde b_{2,i},\quad
        u_j = \Lambda^{(1)}_j{}^\top (X W_1)_j,\quad
        \tilde b_{1,j} = \Lambda^{(1)}_j{}^\top (\Delta^{(1)}_j + b_1),\quad
        \tilde b_{2,i} = \Lambda^{(2)}_i{}^\top (\Delta^{(2)}_i + b_2)

    with :math:`\Lambda^{(2)} = \lambda^{(2)} \odot c`, :math:`\Lambda^{(1)} = \lambda^{(1)} \odot (\Lambda^{(2)} W_2)`.
    """
    if len(encoder.convs) != 2:
        raise ValueError(f"The POT code's score takes 2-layer encoders only (got {len(encoder.convs)} layers)")
    conv1, conv2 = encoder.convs
    a1, a2 = activation_slope(_activation(encoder, 0)), activation_slope(_activation(encoder, 1))
    diagonal = bounds.diagonal_lower()
    xw = conv1.lin(x)
    z1 = _pre_activation(conv1, 0, _interval_product(diagonal, xw, xw))
    clean = _act(_pre_activation(conv1, 0, (spmm(bounds.matrix("exact"), xw),) * 2)[0], a1)
    hw = conv2.lin(clean)
    z2 = _pre_activation(conv2, 0, _interval_product(diagonal, hw, hw))  # k=0: bias only, as the POT code
    weight2 = conv2.lin.weight
    b1 = conv1.bias if conv1.bias is not None else xw.new_zeros(xw.shape[1])
    b2 = conv2.bias if conv2.bias is not None else weight2.new_zeros(weight2.shape[0])
    args = (*z1, *z2, weights, xw, weight2, b1, b2, a1, a2)
    u, score1, score2 = checkpoint(_reference_coefficients, *args, use_reentrant=False) \
        if torch.is_grad_enabled() else _reference_coefficients(*args)
    adjacency = view_adjacency(edge_index, bounds.num_nodes, xw.dtype)
    return (spmm(adjacency, spmm(adjacency, u) + score1)).squeeze(-1) + score2


def _reference_coefficients(z1_low: Tensor, z1_high: Tensor, z2_low: Tensor, z2_high: Tensor, weights: Tensor,
                            xw: Tensor, weight2: Tensor, b1: Tensor, b2: Tensor, a1: Tensor | float,
                            a2: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
    """The POT code's ``get_crown_weights`` and per-node terms: :math:`u`, :math:`\tilde b_1` (columns) and
    :math:`\tilde b_2` (:func:`reference_compactness_score`), element-wise and one product, recomputed in the
    backward pass rather than kept."""
    slope2, _, top2 = relaxation(z2_low, z2_high, a2, "reference")
    lam2 = slope2 * weights
    score2 = (lam2 * (top2.masked_fill(weights >= 0, 0) + b2)).sum(-1)
    g = lam2 @ weight2
    slope1, _, top1 = relaxation(z1_low, z1_high, a1, "reference")
    lam1 = slope1 * g
    score1 = (lam1 * (top1.masked_fill(g >= 0, 0) + b1)).sum(-1, keepdim=True)
    return (lam1 * xw).sum(-1, keepdim=True), score1, score2
