"""POT's bounds: hand-computed budgets and adjacency bounds, sound relaxations, and the compactness lower bound never
above the exact compactness of any allowed dropped graph (hypothesis)."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcl.losses.pot import compactness_weights, node_compactness, pot_loss
from graphcl.losses.pot_bounds import (AdjacencyBounds, _image, activation_slope, check_pot_encoder,
                                       compactness_lower_bound, drop_budget, pre_activation_bounds, relaxation,
                                       view_compactness_lower_bound)
from graphcl.nn import GATEncoder, GCNEncoder

# path 0-1-2-3 plus edge 1-3 (both directions): in-degrees 1, 3, 2, 2
EDGES = torch.tensor([[0, 1, 1, 2, 2, 3, 1, 3], [1, 0, 2, 1, 3, 2, 3, 1]])


def test_drop_budget_hand_computed():
    # d~ = 2, 4, 3, 3; round(p d): p = 0.5 -> round(0.5, 1.5, 1, 1) = 0, 2, 1, 1 (half to even); cap d~ - 2 = 0, 2, 1, 1
    assert drop_budget(EDGES, 4, 0.5).tolist() == [0, 2, 1, 1]
    assert drop_budget(EDGES, 4, 1.0).tolist() == [0, 2, 1, 1]  # the cap keeps one edge
    assert drop_budget(EDGES, 4, 0.0).tolist() == [0, 0, 0, 0]
    per_edge = torch.tensor([0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.9, 0.0])  # only 1->0 and 1->3 may drop
    assert drop_budget(EDGES, 4, per_edge).tolist() == [0, 0, 0, 1]


def test_adjacency_bounds_hand_computed():
    b = AdjacencyBounds.from_drops(EDGES, 4, 0.5, dtype=torch.float64)
    deg = torch.tensor([2.0, 4.0, 3.0, 3.0], dtype=torch.float64)
    q = torch.tensor([0.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    for e, (j, i) in enumerate(zip(b.src.tolist(), b.dst.tolist())):
        exact = 1 / math.sqrt(deg[i] * deg[j])
        assert b.exact[e].item() == pytest.approx(exact)
        assert b.diagonal_lower().lower[e].item() == pytest.approx(exact if i == j else 0.0)
        assert b.upper[e].item() == pytest.approx(1 / math.sqrt((deg[i] - q[i]) * (deg[j] - q[j])))
        if i == j:  # self-loops never drop: 1 / d~_i <= entry <= 1 / (d~_i - q_i)
            assert b.lower[e].item() == pytest.approx(exact)
        else:  # an edge into node 0 (q = 0) cannot drop; the others can
            assert b.lower[e].item() == pytest.approx(exact if i == 0 else 0.0)
    assert b.dst.numel() == EDGES.shape[1] + 4


@given(low=st.floats(-5, 5), width=st.floats(0.01, 10), a=st.floats(-1.5, 2.5), t=st.floats(0, 1),
       intercept=st.sampled_from(["chord", "reference"]))
@settings(max_examples=300, deadline=None)
def test_relaxation_brackets_the_activation(low, width, a, t, intercept):
    lo = torch.tensor([low], dtype=torch.float64)
    hi = lo + width
    slope, mu_low, mu_high = relaxation(lo, hi, a, intercept)
    z = lo + t * (hi - lo)
    act = torch.where(z >= 0, z, a * z)
    assert (slope * z + mu_low <= act + 1e-9).all()
    assert (slope * z + mu_high >= act - 1e-9).all()


@given(low=st.floats(-5, 5), width=st.floats(0, 10), a=st.floats(-1.5, 2.5), t=st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_activation_image_brackets_the_activation(low, width, a, t):
    lo = torch.tensor([low], dtype=torch.float64)
    hi = lo + width
    z = lo + t * (hi - lo)
    act = torch.where(z >= 0, z, a * z)
    img_low, img_high = _image(lo, hi, a)
    assert (img_low <= act + 1e-9).all() and (act <= img_high + 1e-9).all()


def test_reference_intercept_is_looser_than_the_chord():
    lo, hi = torch.tensor([-1.0, -2.0]), torch.tensor([3.0, 0.5])
    for a in (0.0, 0.25):
        _, _, chord = relaxation(lo, hi, a, "chord")
        _, _, ref = relaxation(lo, hi, a, "reference")
        assert (ref >= chord).all() and (ref > chord).any()
    # ReLU: chord intercept -u l / (u - l); the reference's -l
    _, _, chord = relaxation(lo, hi, 0.0, "chord")
    assert torch.allclose(chord, -hi * lo / (hi - lo))
    _, _, ref = relaxation(lo, hi, 0.0, "reference")
    assert torch.allclose(ref, -lo)


def _allowed_drop(edge_index: torch.Tensor, bounds: AdjacencyBounds, drop_prob: torch.Tensor,
                  rng: torch.Generator) -> torch.Tensor:
    """A random edge subset inside the allowed set: each node loses at most q_i incoming droppable edges."""
    keep = torch.ones(edge_index.shape[1], dtype=torch.bool)
    lost = torch.zeros(bounds.num_nodes, dtype=torch.long)
    for e in torch.randperm(edge_index.shape[1], generator=rng).tolist():
        i = int(edge_index[1, e])
        if drop_prob[e] > 0 and lost[i] < bounds.budget[i] and torch.rand(1, generator=rng) < 0.7:
            keep[e] = False
            lost[i] += 1
    return edge_index[:, keep]


def _random_case(seed: int, n: int, layers: int, activation: str, p: float, per_edge: bool):
    g = torch.Generator().manual_seed(seed)
    pairs = torch.triu_indices(n, n, 1)
    chosen = pairs[:, torch.rand(pairs.shape[1], generator=g) < 0.5]
    edge_index = torch.cat([chosen, chosen.flip(0)], dim=1)
    drop_prob = torch.rand(edge_index.shape[1], generator=g) * p if per_edge else torch.full(
        (edge_index.shape[1],), p)
    torch.manual_seed(seed)
    enc = GCNEncoder(4, 6, 3, num_layers=layers, activation=activation).double()
    with torch.no_grad():
        for conv in enc.convs:
            conv.bias.uniform_(-0.5, 0.5, generator=g)
        for act in enc.acts:
            if isinstance(act, torch.nn.PReLU):
                act.weight.uniform_(-0.5, 1.5, generator=g)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    other = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return g, edge_index, drop_prob, enc, x, other


@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), layers=st.integers(1, 3),
       activation=st.sampled_from(["relu", "prelu", "leaky_relu", "identity"]), p=st.floats(0, 1),
       per_edge=st.booleans(), intercept=st.sampled_from(["chord", "reference"]), subset=st.booleans())
@settings(max_examples=60, deadline=None)
def test_bound_never_above_the_compactness_of_an_allowed_graph(seed, n, layers, activation, p, per_edge,
                                                               intercept, subset):
    g, edge_index, drop_prob, enc, x, other = _random_case(seed, n, layers, activation, p, per_edge)
    bounds = AdjacencyBounds.from_drops(edge_index, n, drop_prob, dtype=torch.float64)
    targets = torch.randperm(n, generator=g)[: max(2, n // 2)] if subset else torch.arange(n)
    weights = compactness_weights(other[targets])
    with torch.no_grad():
        bound = compactness_lower_bound(enc, x, bounds, weights, targets, intercept)
        for _ in range(4):
            kept = _allowed_drop(edge_index, bounds, drop_prob, g)
            exact = (weights * enc(x, kept)[targets]).sum(-1)
            assert (bound <= exact + 1e-9).all(), (bound - exact).max()
            at_view = view_compactness_lower_bound(enc, x, kept, bounds, weights, targets, intercept)
            assert (at_view <= exact + 1e-9).all(), (at_view - exact).max()
            low, high = pre_activation_bounds(enc, x, bounds)[0]
            z = enc.convs[0](x, kept)
            assert (low <= z + 1e-9).all() and (z <= high + 1e-9).all()


@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), layers=st.integers(1, 3),
       activation=st.sampled_from(["relu", "prelu", "leaky_relu"]))
@settings(max_examples=40, deadline=None)
def test_bound_is_exact_without_drops(seed, n, layers, activation):
    _, edge_index, _, enc, x, other = _random_case(seed, n, layers, activation, 0.0, False)
    bounds = AdjacencyBounds.from_drops(edge_index, n, 0.0, dtype=torch.float64)
    with torch.no_grad():
        exact = node_compactness(enc(x, edge_index), other)
        bound = compactness_lower_bound(enc, x, bounds, compactness_weights(other))
        assert torch.allclose(bound, exact, atol=1e-10)
        at_view = view_compactness_lower_bound(enc, x, edge_index, bounds, compactness_weights(other))
        assert torch.allclose(at_view, exact, atol=1e-10)


def test_compactness_weights_formula():
    z = torch.tensor([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0]])
    zn = z / z.norm(dim=1, keepdim=True)
    expected = torch.stack([zn[i] - (zn.sum(0) - zn[i]) / 2 for i in range(3)])
    assert torch.allclose(compactness_weights(z), expected)
    with pytest.raises(ValueError, match="at least 2 nodes"):
        compactness_weights(z[:1])


@pytest.mark.parametrize("at_view", [False, True])
def test_pot_loss_is_softplus_of_minus_the_bound_and_has_gradients(at_view):
    _, edge_index, drop_prob, enc, x, other = _random_case(3, 7, 2, "prelu", 0.5, False)
    bounds = AdjacencyBounds.from_drops(edge_index, 7, drop_prob, dtype=torch.float64)
    loss = pot_loss(enc, x, bounds, other, bound="view" if at_view else "certified", view_edge_index=edge_index)
    with torch.no_grad():
        weights = compactness_weights(other)
        bound = view_compactness_lower_bound(enc, x, edge_index, bounds, weights) if at_view else \
            compactness_lower_bound(enc, x, bounds, weights)
    assert loss.item() == pytest.approx(torch.nn.functional.softplus(-bound).mean().item())
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in enc.parameters())
    assert enc.acts[0].weight.grad.abs().sum() > 0


def test_unsupported_encoders_and_activations_are_refused():
    with pytest.raises(ValueError, match="plain GCN layers"):
        check_pot_encoder(GATEncoder(4, 4, 2))
    with pytest.raises(ValueError, match="piecewise-linear"):
        check_pot_encoder(GCNEncoder(4, 4, 2, activation="elu"))
    with pytest.raises(ValueError, match="without dropout"):
        check_pot_encoder(GCNEncoder(4, 4, 2, dropout=0.5))
    assert activation_slope(torch.nn.LeakyReLU(0.2)) == 0.2
    with pytest.raises(ValueError, match="training mode"):
        activation_slope(torch.nn.RReLU().train())
    assert activation_slope(torch.nn.RReLU(0.1, 0.3).eval()) == pytest.approx(0.2)


def _reference_score_dense(enc, x, edge_index, view_edge_index, p, weights):
    """The POT code's score written as its GRACE/model.py pot_loss does it: dense N x N bound matrices, clean layer-1
    output for the layer-2 bounds, get_alpha_beta / get_crown_weights, and An_ptb applied twice."""
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import degree, to_dense_adj
    n = x.shape[0]
    deg = degree(edge_index[1], n).double()
    degs_tilde = deg + 1
    max_delete = torch.minimum((degs_tilde - 2).clamp(min=0), torch.round(p * deg))
    s = 1 / torch.sqrt(degs_tilde - max_delete)
    a_tilde = to_dense_adj(edge_index, max_num_nodes=n)[0].double() + torch.eye(n, dtype=torch.float64)
    a_upper = torch.where(a_tilde > 0, s[:, None] * s[None, :], torch.zeros_like(a_tilde))
    a_lower = torch.diag(1 / degs_tilde)
    act = enc.acts[0]
    alpha = act.weight.item() if isinstance(act, torch.nn.PReLU) else 0.0
    c1, c2 = enc.convs
    xw = c1.lin(x)
    mid, rad = (a_upper + a_lower) / 2, (a_upper - a_lower) / 2
    z1_u, z1_l = mid @ xw + rad @ xw.abs() + c1.bias, mid @ xw - rad @ xw.abs() + c1.bias
    hw = c2.lin(enc.acts[0](c1(x, edge_index)))
    z2_u, z2_l = mid @ hw + rad @ hw.abs() + c2.bias, mid @ hw - rad @ hw.abs() + c2.bias

    def alpha_beta(l, u):
        al = torch.where(l >= 0, torch.ones_like(l),
                         torch.where(u <= 0, torch.full_like(l, alpha), (u - alpha * l) / (u - l)))
        unstable = (l < 0) & (u > 0)
        bu = torch.where(unstable, (alpha - 1) * u * l / (u - alpha * l), torch.zeros_like(l))
        return al, bu

    al2, bu2 = alpha_beta(z2_l, z2_u)
    al1, bu1 = alpha_beta(z1_l, z1_u)
    lam2 = al2 * weights
    w2t = lam2 @ c2.lin.weight
    b2t = (lam2 * (torch.where(weights >= 0, torch.zeros_like(bu2), bu2) + c2.bias)).sum(-1)
    lam1 = al1 * w2t
    w1t = lam1 @ c1.lin.weight
    b1t = (lam1 * (torch.where(w2t >= 0, torch.zeros_like(bu1), bu1) + c1.bias)).sum(-1)
    xwt = (x * w1t).sum(-1, keepdim=True)
    ei, w = gcn_norm(view_edge_index, None, n, add_self_loops=True, dtype=torch.float64)
    a_ptb = to_dense_adj(ei, edge_attr=w, max_num_nodes=n)[0].t()  # row = target
    return (a_ptb @ (a_ptb @ xwt + b1t[:, None]) + b2t[:, None]).squeeze(-1)


@pytest.mark.parametrize("activation", ["relu", "prelu"])
def test_reference_score_equals_the_pot_code_computed_densely(activation):
    from graphcl.losses.pot_bounds import reference_compactness_score
    g, edge_index, _, enc, x, other = _random_case(11, 8, 2, activation, 0.5, False)
    with torch.no_grad():
        for act in enc.acts:
            if isinstance(act, torch.nn.PReLU):
                act.weight.fill_(0.25)
    bounds = AdjacencyBounds.from_drops(edge_index, 8, 0.5, dtype=torch.float64)
    view = _allowed_drop(edge_index, bounds, torch.full((edge_index.shape[1],), 0.5), g)
    weights = compactness_weights(other)
    with torch.no_grad():
        ours = reference_compactness_score(enc, x, view, bounds, weights)
        theirs = _reference_score_dense(enc, x, edge_index, view, 0.5, weights)
    assert torch.allclose(ours, theirs, atol=1e-10)
