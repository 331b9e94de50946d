"""BackboneConv(mode="nnconv"): NNConv (Gilmer et al., 2017) and KMPNN (Fang et al., 2022) messages."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import NNConv

import graphcl.nn.backbone_conv as bc
from graphcl.nn.backbone_conv import EDGE_CONDITIONED_MODES, BackboneConv

ATOL = 1e-5


def _graph(seed, n=9, e=40, d=3, categorical=True, num_types=None):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    x = torch.randn(n, 5, generator=g)
    if categorical:  # a few bond-like categories, repeated
        ea = torch.randint(0, 3, (e, d), generator=g).float()
    else:
        ea = torch.randn(e, d, generator=g)
    et = None if num_types is None else torch.randint(0, num_types, (e,), generator=g)
    return x, ei, ea, et


def _pyg(conv, aggr="add"):
    ref = NNConv(conv.in_channels, conv.out_channels, copy.deepcopy(conv.edge_nns[0]), aggr=aggr,
                 root_weight=conv.root_weight)
    ref.nn.load_state_dict(conv.edge_nns[0].state_dict())  # NNConv re-initialises its nn
    with torch.no_grad():
        if conv.root_weight:
            ref.lin.weight.copy_(conv.lin_root.weight)
        conv.bias.copy_(torch.randn(conv.out_channels))
        ref.bias.copy_(conv.bias)
    return ref


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("categorical", [True, False])
@pytest.mark.parametrize("root_weight", [False, True])
@pytest.mark.parametrize("unique_edges", [True, False])
def test_equals_pyg_nnconv(seed, categorical, root_weight, unique_edges):
    torch.manual_seed(seed)
    x, ei, ea, _ = _graph(seed, categorical=categorical)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, edge_hidden_channels=8,
                        root_weight=root_weight, unique_edges=unique_edges)
    ref = _pyg(conv)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = conv(xa, ei, edge_attr=ea), ref(xb, ei, ea)
    assert torch.allclose(out, expected, atol=ATOL)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    assert torch.allclose(xa.grad, xb.grad, atol=ATOL)
    ours = dict(conv.named_parameters())
    for name, p in ref.named_parameters():
        mine = ours[{"lin.weight": "lin_root.weight"}.get(name, name.replace("nn.", "edge_nns.0."))]
        assert torch.allclose(mine.grad, p.grad, atol=1e-4), name


@pytest.mark.parametrize("unique_edges", [True, False])
def test_mean_aggregation_equals_pyg(unique_edges):
    torch.manual_seed(0)
    x, ei, ea, _ = _graph(3)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, aggr="mean", root_weight=True,
                        unique_edges=unique_edges)
    ref = _pyg(conv, aggr="mean")
    assert torch.allclose(conv(x, ei, edge_attr=ea), ref(x, ei, ea), atol=ATOL)


def test_edge_weight_scales_messages():
    torch.manual_seed(0)
    x, ei, ea, _ = _graph(4)
    w = torch.rand(ei.shape[1]) + 0.5
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3)
    ref = _pyg(conv)
    # NNConv has no edge weight: weight the messages by hand (message -> scatter)
    W = ref.nn(ea).view(-1, 5, 4)
    msg = torch.bmm(x[ei[0]].unsqueeze(1), W).squeeze(1) * w.unsqueeze(-1)
    expected = torch.zeros(9, 4).index_add_(0, ei[1], msg) + ref.bias
    assert torch.allclose(conv(x, ei, w, edge_attr=ea), expected, atol=ATOL)


def test_categorical_gradients_reach_edge_attributes_exactly_per_category():
    """Rows of one category share one edge-network evaluation: per category, the gradient of
    edge_attr sums to PyG's; a table passed with edge_attr_index gets PyG's gradient exactly."""
    torch.manual_seed(0)
    x, ei, ea, _ = _graph(5)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, edge_hidden_channels=8)
    ref = _pyg(conv)
    table, index = torch.unique(ea, dim=0, return_inverse=True)
    a = ea.clone().requires_grad_()
    b = ea.clone().requires_grad_()
    g = torch.randn(9, 4)
    conv(x, ei, edge_attr=a).backward(g)
    ref(x, ei, b).backward(g)
    U = table.shape[0]
    per_cat = torch.zeros(U, 3).index_add_(0, index, a.grad)
    assert torch.allclose(per_cat, torch.zeros(U, 3).index_add_(0, index, b.grad), atol=1e-4)
    # within a category the gradient is split evenly (no dependence on edge order)
    assert torch.allclose(a.grad, (per_cat / torch.bincount(index).unsqueeze(-1))[index], atol=1e-5)
    # compressed form: exact gradient of the table
    ta, tb = table.clone().requires_grad_(), table.clone().requires_grad_()
    out = conv(x, ei, edge_attr=ta, edge_attr_index=index)
    assert torch.allclose(out, ref(x, ei, tb[index]), atol=ATOL)
    out.backward(g)
    ref(x, ei, tb[index]).backward(g)
    assert torch.allclose(ta.grad, tb.grad, atol=1e-4)


def test_edge_network_runs_once_per_category():
    torch.manual_seed(0)
    x, ei, ea, et = _graph(6, e=60, num_types=2)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, num_edge_types=2)
    rows = []
    for net in conv.edge_nns:
        net.register_forward_hook(lambda m, inp, out: rows.append(inp[0].shape[0]))
    out = conv(x, ei, edge_type=et, edge_attr=ea)
    categories = torch.unique(torch.cat([et.unsqueeze(1).float(), ea], 1), dim=0).shape[0]
    assert sum(rows) == categories < ei.shape[1]
    rows.clear()
    per_edge = BackboneConv(5, 4, mode="nnconv", edge_dim=3, num_edge_types=2, unique_edges=False)
    per_edge.load_state_dict(conv.state_dict())
    for net in per_edge.edge_nns:
        net.register_forward_hook(lambda m, inp, out: rows.append(inp[0].shape[0]))
    assert torch.allclose(per_edge(x, ei, edge_type=et, edge_attr=ea), out, atol=ATOL)
    assert sum(rows) == ei.shape[1]


# ---------------------------------------------------------------- typed + attention (KMPNN)
def _naive_kmpnn(conv, x, ei, et, ea, w=None):
    """Per-edge loop: softmax within each (destination, type), one edge network per type."""
    N, T = x.shape[0], conv.num_edge_types
    a = conv.att.weight.view(-1) if conv.attention else None
    out = torch.zeros(N, conv.out_channels)
    for i in range(N):
        for t in range(T):
            edges = [e for e in range(ei.shape[1]) if ei[1, e] == i and et[e] == t]
            if not edges:
                continue
            if conv.attention:
                logits = torch.stack([F.leaky_relu(a @ torch.cat([x[ei[0, e]], x[i]]),
                                                   conv.negative_slope) for e in edges])
                alpha = torch.softmax(logits, 0)
            else:
                alpha = torch.ones(len(edges))
            if conv.aggr == "mean":
                alpha = alpha / len(edges)
            for k, e in enumerate(edges):
                W = conv.edge_nns[t](ea[e:e + 1]).view(conv.in_channels, conv.out_channels)
                scale = alpha[k] * (1.0 if w is None else w[e])
                out[i] += scale * (x[ei[0, e]] @ W)
    if conv.lin_root is not None:
        out = out + conv.lin_root(x)
    return out + conv.bias


@pytest.mark.parametrize("attention", [True, False])
@pytest.mark.parametrize("aggr", ["sum", "mean"])
@pytest.mark.parametrize("unique_edges", [True, False])
def test_typed_attention_equals_naive_loop(attention, aggr, unique_edges):
    torch.manual_seed(0)
    x, ei, ea, et = _graph(7, n=8, e=36, num_types=2)
    w = torch.rand(ei.shape[1]) + 0.5
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, edge_hidden_channels=6, num_edge_types=2,
                        attention=attention, aggr=aggr, root_weight=True, negative_slope=0.01,
                        unique_edges=unique_edges)
    with torch.no_grad():
        conv.bias.normal_()
    expected = _naive_kmpnn(conv, x, ei, et, ea, w)
    assert torch.allclose(conv(x, ei, w, edge_type=et, edge_attr=ea), expected, atol=ATOL)


def test_grouped_and_per_edge_paths_agree_with_gradients(monkeypatch):
    torch.manual_seed(0)
    x, ei, ea, et = _graph(8, e=50, num_types=2)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3, edge_hidden_channels=6, num_edge_types=2,
                        attention=True)
    results = []
    for max_categories in (bc._MAX_EDGE_CATEGORIES, 1):  # 1: above the limit -> per edge
        monkeypatch.setattr(bc, "_MAX_EDGE_CATEGORIES", max_categories)
        conv.zero_grad()
        xg, eg = x.clone().requires_grad_(), ea.clone().requires_grad_()
        out = conv(xg, ei, edge_type=et, edge_attr=eg)
        out.pow(2).sum().backward()
        results.append((out, xg.grad, [p.grad.clone() for p in conv.parameters()]))
    (o1, x1, p1), (o2, x2, p2) = results
    assert torch.allclose(o1, o2, atol=ATOL) and torch.allclose(x1, x2, atol=1e-4)
    for a, b in zip(p1, p2):
        assert torch.allclose(a, b, atol=1e-4)


def test_softmax_is_per_type():
    """W = identity and a constant last feature: that output column is the sum of the attention
    coefficients of each type present at the node (1 per type), not 1 overall."""
    torch.manual_seed(0)
    d = 4
    conv = BackboneConv(d, d, mode="nnconv", edge_dim=2, num_edge_types=2, attention=True)
    with torch.no_grad():
        for net in conv.edge_nns:
            net.weight.zero_()
            net.bias.copy_(torch.eye(d).flatten())
        conv.att.weight.normal_()
    x = torch.cat([torch.randn(6, d - 1), torch.ones(6, 1)], dim=1)
    # node 0: 2 bond in-edges + 3 KG in-edges; node 1: 2 KG in-edges only; node 2: none
    ei = torch.tensor([[1, 2, 3, 4, 5, 3, 4], [0, 0, 0, 0, 0, 1, 1]])
    et = torch.tensor([0, 0, 1, 1, 1, 1, 1])
    ea = torch.randn(7, 2)
    out = conv(x, ei, edge_type=et, edge_attr=ea)
    assert torch.allclose(out[:3, -1], torch.tensor([2.0, 1.0, 0.0]), atol=1e-6)
    # the coefficients differ from uniform (the test is not trivially satisfied)
    uniform = (x[[1, 2]].mean(0) + x[[3, 4, 5]].mean(0))[:-1]
    assert not torch.allclose(out[0, :-1], uniform, atol=1e-3)


def test_nodes_without_in_edges_and_empty_graph():
    conv = BackboneConv(3, 2, mode="nnconv", edge_dim=1, root_weight=True)
    with torch.no_grad():
        conv.bias.fill_(0.5)
    x = torch.randn(4, 3)
    out = conv(x, torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 1))
    assert torch.allclose(out, conv.lin_root(x) + 0.5)


def test_edge_nn_modules_and_repr():
    nets = [nn.Linear(2, 12), nn.Linear(2, 12)]
    conv = BackboneConv(3, 4, mode="nnconv", edge_nn=nets, num_edge_types=2, attention=True)
    assert conv.edge_nns[1] is nets[1]
    assert str(conv) == "BackboneConv(3, 4, mode='nnconv', num_edge_types=2, attention=True)"
    assert str(BackboneConv(3, 4, mode="nnconv", edge_dim=2, edge_hidden_channels=8, aggr="mean",
                            root_weight=True)) == ("BackboneConv(3, 4, mode='nnconv', edge_dim=2, "
                                                   "edge_hidden_channels=8, root_weight=True, aggr='mean')")
    assert EDGE_CONDITIONED_MODES == ("nnconv",)


def test_errors():
    x, ei, ea, et = _graph(0, num_types=2)
    with pytest.raises(ValueError, match="'edge_dim'.*'edge_nn'"):
        BackboneConv(5, 4, mode="nnconv")
    with pytest.raises(ValueError, match="add_self_loops=True"):
        BackboneConv(5, 4, mode="nnconv", edge_dim=3, add_self_loops=True)
    with pytest.raises(ValueError, match=r"\['attention'\] only apply to mode='nnconv'"):
        BackboneConv(5, 4, mode="gcn", attention=True)
    with pytest.raises(ValueError, match=r"'aggr'.*\(got 'max'\)"):
        BackboneConv(5, 4, mode="nnconv", edge_dim=3, aggr="max")
    with pytest.raises(ValueError, match=r"one module per edge type \(2\) \(got 1"):
        BackboneConv(5, 4, mode="nnconv", edge_nn=nn.Linear(3, 20), num_edge_types=2)
    with pytest.raises(ValueError, match="'heads' = 1"):
        BackboneConv(5, 4, mode="nnconv", edge_dim=3, heads=2)
    conv = BackboneConv(5, 4, mode="nnconv", edge_dim=3)
    with pytest.raises(ValueError, match="Expected 'edge_attr'"):
        conv(x, ei)
    with pytest.raises(ValueError, match=r"'edge_attr' of shape \(E=40, 3\) \(got \(40, 2\)\)"):
        conv(x, ei, edge_attr=ea[:, :2])
    with pytest.raises(ValueError, match=r"'edge_attr_index' values in \[0, 1\]"):
        conv(x, ei, edge_attr=ea[:2], edge_attr_index=torch.arange(40))
    with pytest.raises(ValueError, match="only used by mode='nnconv'"):
        BackboneConv(5, 4)(x, ei, edge_attr_index=torch.arange(40))
    bad = BackboneConv(5, 4, mode="nnconv", edge_nn=nn.Linear(3, 7))
    with pytest.raises(ValueError, match=r"in_channels \* out_channels = 20\) \(got \(\d+, 7\)\)"):
        bad(x, ei, edge_attr=ea)
