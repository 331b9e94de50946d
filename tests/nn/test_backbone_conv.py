import math

import pytest
import torch
from torch_geometric.nn import GATConv, GCNConv, GINConv, GINEConv

from graphcl.nn import MODES, BackboneConv

ATOL = 1e-5


def _graph(n=7, seed=0, self_loop=False):
    g = torch.Generator().manual_seed(seed)
    src = torch.tensor([0, 1, 2, 3, 4, 5, 0, 2, 4, 6, 1, 6])
    dst = torch.tensor([1, 2, 3, 4, 5, 6, 3, 0, 1, 2, 4, 4])
    if self_loop:  # an existing self-loop on node 5
        src, dst = torch.cat([src, torch.tensor([5])]), torch.cat([dst, torch.tensor([5])])
    ei = torch.stack([src, dst])
    x = torch.randn(n, 5, generator=g)
    w = torch.rand(ei.shape[1], generator=g) + 0.5
    return x, ei, w


# ---------------------------------------------------------------- GCN
@pytest.mark.parametrize("self_loop", [False, True])
@pytest.mark.parametrize("improved", [False, True])
@pytest.mark.parametrize("use_weight", [False, True])
def test_gcn_equals_pyg(self_loop, improved, use_weight):
    torch.manual_seed(0)
    x, ei, w = _graph(self_loop=self_loop)
    w = w if use_weight else None
    ours = BackboneConv(5, 4, mode="gcn", improved=improved)
    ref = GCNConv(5, 4, improved=improved)
    ref.lin.weight.data.copy_(ours.lin.weight)
    ours.bias.data.normal_()
    ref.bias.data.copy_(ours.bias)
    # PyG 2.8 ignores improved=True when edge_weight is None (its add_remaining_self_loops
    # returns no weights), so the reference gets explicit unit weights.
    w_ref = w if w is not None else torch.ones(ei.shape[1])
    assert torch.allclose(ours(x, ei, w), ref(x, ei, w_ref), atol=ATOL)


def test_gcn_cached_and_no_normalize():
    x, ei, w = _graph()
    conv = BackboneConv(5, 4, mode="gcn", cached=True)
    out1 = conv(x, ei, w)
    out2 = conv(x, ei[:, :3])  # cache reused: the second structure is ignored
    assert torch.allclose(out1, out2)
    conv.reset_parameters()
    assert conv._cache is None
    plain = BackboneConv(5, 4, mode="gcn", normalize=False, add_self_loops=False, bias=False)
    ref = GCNConv(5, 4, normalize=False, bias=False)
    ref.lin.weight.data.copy_(plain.lin.weight)
    assert torch.allclose(plain(x, ei, w), ref(x, ei, w), atol=ATOL)


# ---------------------------------------------------------------- GAT
@pytest.mark.parametrize("heads,concat", [(1, True), (3, True), (3, False)])
@pytest.mark.parametrize("edge_dim", [None, 2])
def test_gat_equals_pyg(heads, concat, edge_dim):
    torch.manual_seed(0)
    x, ei, _ = _graph(self_loop=True)
    ea = torch.randn(ei.shape[1], 2) if edge_dim else None
    ours = BackboneConv(5, 4, mode="gat", heads=heads, concat=concat, edge_dim=edge_dim)
    ref = GATConv(5, 4, heads=heads, concat=concat, edge_dim=edge_dim)
    ours.bias.data.normal_()
    ref.lin.weight.data.copy_(ours.lin.weight)
    ref.att_src.data.copy_(ours.att_src)
    ref.att_dst.data.copy_(ours.att_dst)
    ref.bias.data.copy_(ours.bias)
    if edge_dim:
        ref.lin_edge.weight.data.copy_(ours.lin_edge.weight)
        ref.att_edge.data.copy_(ours.att_edge)
    out = ours(x, ei, edge_attr=ea)
    assert out.shape == (7, heads * 4 if concat else 4)
    assert torch.allclose(out, ref(x, ei, edge_attr=ea), atol=ATOL)


# ---------------------------------------------------------------- GIN
@pytest.mark.parametrize("train_eps", [False, True])
def test_gin_equals_pyg(train_eps):
    torch.manual_seed(0)
    x, ei, _ = _graph()
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    ours = BackboneConv(5, 3, mode="gin", gin_nn=mlp, eps=0.3, train_eps=train_eps)
    ref = GINConv(mlp, eps=0.3, train_eps=train_eps)
    assert torch.allclose(ours(x, ei), ref(x, ei), atol=ATOL)
    assert isinstance(ours.eps, torch.nn.Parameter) == train_eps
    default = BackboneConv(5, 3, mode="gin")
    assert default(x, ei).shape == (7, 3)


def test_gin_with_edge_features_adds_them_to_the_messages():
    """Hu et al.'s GIN: h((1 + eps) x_i + sum_j w_ji (x_j + W_e e_ji + b_e)), by hand; PyG's GINEConv where
    its ReLU of the message is the identity (non-negative messages)."""
    torch.manual_seed(0)
    x, ei, w = _graph()
    ea = torch.randn(ei.shape[1], 3)
    conv = BackboneConv(5, 4, mode="gin", edge_dim=3, eps=0.2)
    msg = (x[ei[0]] + ea @ conv.lin_edge.weight.t() + conv.lin_edge.bias) * w[:, None]
    expected = conv.nn(1.2 * x + torch.zeros(7, 5).index_add_(0, ei[1], msg))
    assert torch.allclose(conv(x, ei, w, edge_attr=ea), expected, atol=ATOL)
    x, ea = x.abs(), ea.abs()
    with torch.no_grad():
        conv.lin_edge.weight.abs_()
        conv.lin_edge.bias.abs_()
    ref = GINEConv(conv.nn, eps=0.2, edge_dim=3)
    ref.lin.load_state_dict(conv.lin_edge.state_dict())
    assert torch.allclose(conv(x, ei, edge_attr=ea), ref(x, ei, ea), atol=ATOL)
    with pytest.raises(ValueError, match="built with edge_dim=None"):
        BackboneConv(5, 4, mode="gin")(x, ei, edge_attr=ea)
    with pytest.raises(ValueError, match="'edge_dim' is only supported by the modes"):
        BackboneConv(5, 4, mode="gcn", edge_dim=3)


def test_gin_edge_weight_scales_messages():
    x, ei, w = _graph()
    conv = BackboneConv(5, 3, mode="gin")
    agg = torch.zeros(7, 5).index_add_(0, ei[1], x[ei[0]] * w[:, None])
    assert torch.allclose(conv(x, ei, w), conv.nn(x + agg), atol=ATOL)


# ---------------------------------------------------------------- attention (sparse)
def _naive_attention(conv, x, ei, edge_weight=None, edge_attr=None):
    """Per-edge loop reference of mode='attention' (untyped)."""
    N, H = x.shape[0], conv.heads
    C = conv.out_channels // H
    q = conv.lin_query(x).view(N, H, C)
    k = conv.lin_key(x).view(N, H, C)
    v = conv.lin_value(x).view(N, H, C)
    out = torch.zeros(N, H, C)
    for i in range(N):
        eids = (ei[1] == i).nonzero().view(-1).tolist()
        if not eids:
            continue
        ks, vs = [], []
        for e in eids:
            kk, vv = k[ei[0, e]], v[ei[0, e]]
            if edge_attr is not None:
                ee = conv.lin_edge(edge_attr[e]).view(H, C)
                kk, vv = kk + ee, vv + ee
            ks.append(kk)
            vs.append(vv)
        ks, vs = torch.stack(ks), torch.stack(vs)                 # [d, H, C]
        a = torch.softmax((ks * q[i]).sum(-1) / math.sqrt(C), 0)   # [d, H]
        if edge_weight is not None:
            a = a * edge_weight[eids][:, None]
        out[i] = (a[..., None] * vs).sum(0)
    return conv.lin_out(out.view(N, H * C))


def test_attention_sparse_equals_dense_masked():
    torch.manual_seed(0)
    x, ei, _ = _graph(n=8)  # node 7 has no incoming edge
    N = x.shape[0]
    conv = BackboneConv(5, 6, mode="attention", heads=2)
    # naive dense masked attention on the adjacency (row = destination)
    adj = torch.zeros(N, N, dtype=torch.bool)
    adj[ei[1], ei[0]] = True
    H, C = 2, 3
    q = conv.lin_query(x).view(N, H, C).transpose(0, 1)
    k = conv.lin_key(x).view(N, H, C).transpose(0, 1)
    v = conv.lin_value(x).view(N, H, C).transpose(0, 1)
    s = (q @ k.transpose(1, 2) / math.sqrt(C)).masked_fill(~adj, float("-inf"))
    p = torch.nan_to_num(torch.softmax(s, -1))  # node without in-edges -> 0
    ref = conv.lin_out((p @ v).transpose(0, 1).reshape(N, H * C))
    assert torch.allclose(conv(x, ei), ref, atol=ATOL)
    assert not adj.any(1).all()


def test_attention_edge_attr_and_weight_against_loop():
    torch.manual_seed(1)
    x, ei, w = _graph()
    ea = torch.randn(ei.shape[1], 3)
    conv = BackboneConv(5, 4, mode="attention", heads=2, edge_dim=3)
    ref = _naive_attention(conv, x, ei, edge_weight=w, edge_attr=ea)
    assert torch.allclose(conv(x, ei, w, edge_attr=ea), ref, atol=ATOL)


# ---------------------------------------------------------------- dense vs sparse
def _causal_graph(lengths, L, left_pad):
    """Edges j -> i (j <= i) among the real tokens of each padded sequence, flattened."""
    src, dst = [], []
    for b, n in enumerate(lengths):
        start = L - n if left_pad else 0
        idx = torch.arange(start, start + n) + b * L
        ii, jj = torch.tril_indices(n, n)
        src.append(idx[jj])
        dst.append(idx[ii])
    return torch.stack([torch.cat(src), torch.cat(dst)])


@pytest.mark.parametrize("left_pad", [False, True])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_dense_sdpa_equals_sparse_causal(left_pad, mask_kind):
    torch.manual_seed(0)
    B, L, d = 3, 5, 8
    lengths = [5, 3, 1]
    conv = BackboneConv(d, d, mode="attention", heads=2).eval()
    x = torch.randn(B, L, d)
    pad = torch.zeros(B, L, dtype=torch.bool)
    for b, n in enumerate(lengths):
        if left_pad:
            pad[b, L - n:] = True
        else:
            pad[b, :n] = True
    if mask_kind == "bool":
        dense = conv(x, key_padding_mask=pad, causal=True)
    else:  # RecBole-style additive mask: 0 allowed, -10000 / -inf forbidden
        allowed = pad[:, None, None, :] & torch.ones(L, L, dtype=torch.bool).tril()
        add = torch.zeros(B, 1, L, L).masked_fill(~allowed, float("-inf"))
        dense = conv(x, attn_mask=add)
    ei = _causal_graph(lengths, L, left_pad)
    sparse = conv(x.reshape(B * L, d), ei).view(B, L, d)
    assert torch.allclose(dense[pad], sparse[pad], atol=ATOL)
    if left_pad:  # padded queries then see no key in either path (-> lin_out bias)
        assert torch.allclose(dense[~pad], sparse[~pad], atol=ATOL)
    assert torch.isfinite(dense).all()


def test_dense_causal_only_equals_sparse_complete_causal():
    torch.manual_seed(0)
    B, L, d = 2, 4, 6
    conv = BackboneConv(d, d, mode="attention", heads=3)
    x = torch.randn(B, L, d)
    ei = _causal_graph([L] * B, L, left_pad=False)
    dense = conv(x, causal=True)
    assert torch.allclose(dense.reshape(B * L, d), conv(x.reshape(B * L, d), ei), atol=ATOL)
    # full (non-causal) attention equals the complete graph
    full = torch.ones(L, L, dtype=torch.bool)
    ii, jj = full.nonzero().t()
    ei_full = torch.cat([torch.stack([jj + b * L, ii + b * L]) for b in range(B)], 1)
    assert torch.allclose(conv(x).reshape(B * L, d), conv(x.reshape(B * L, d), ei_full),
                          atol=ATOL)


# ---------------------------------------------------------------- typed edges
def _typed_graph(seed=0):
    x, ei, w = _graph(seed=seed)
    et = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1])
    return x, ei, w, et


def test_typed_gcn_against_dense_per_type():
    torch.manual_seed(0)
    x, ei, w, et = _typed_graph()
    N, T = 7, 3
    conv = BackboneConv(5, 4, mode="gcn", num_edge_types=T)
    assert conv.lin.weight.shape == (T + 1, 4, 5)   # + self-loop relation
    conv.bias.data.normal_()
    # global normalisation with self-loops (weight 1), per-type dense adjacency
    deg = torch.ones(N).index_add_(0, ei[1], w)
    norm = w / (deg[ei[0]] * deg[ei[1]]).sqrt()
    ref = conv.bias + (x / deg[:, None]) @ conv.lin.weight[T].t()
    for t in range(T):
        A = torch.zeros(N, N)
        m = et == t
        A.index_put_((ei[1][m], ei[0][m]), norm[m], accumulate=True)
        ref = ref + A @ x @ conv.lin.weight[t].t()
    assert torch.allclose(conv(x, ei, w, edge_type=et), ref, atol=ATOL)


@pytest.mark.parametrize("mode", ["gat", "attention"])
def test_typed_attention_against_per_type_loop(mode):
    """Per-(destination, type) softmax == sum over types of an untyped layer on that type."""
    torch.manual_seed(0)
    x, ei, w, et = _typed_graph()
    N, T, H = 7, 3, 2
    kw = dict(heads=H, num_edge_types=T, bias=False)
    conv = BackboneConv(5, 4, mode=mode, **kw)
    ref = torch.zeros(N, 8 if mode == "gat" else 4)
    R = conv.num_relations
    assert R == (T + 1 if mode == "gat" else T)
    loops = torch.arange(N).repeat(2, 1)
    for t in range(R):
        sub = ei[:, et == t] if t < T else loops
        single = BackboneConv(5, 4, mode=mode, heads=H, add_self_loops=False, bias=False)
        with torch.no_grad():
            if mode == "gat":
                single.lin.weight.copy_(conv.lin.weight[t])
                single.att_src.copy_(conv.att_src)
                single.att_dst.copy_(conv.att_dst)
            else:
                single.lin_query.load_state_dict(conv.lin_query.state_dict())
                single.lin_key.weight.copy_(conv.lin_key.weight[t])
                single.lin_value.weight.copy_(conv.lin_value.weight[t])
                single.lin_out.weight.copy_(conv.lin_out.weight)
        ref = ref + single(x, sub, None if t == T else w[et == t])
    assert torch.allclose(conv(x, ei, w, edge_type=et), ref, atol=ATOL)


def test_typed_gin_against_loop():
    x, ei, w, et = _typed_graph()
    conv = BackboneConv(5, 3, mode="gin", num_edge_types=3)
    agg = torch.zeros(7, 5)
    for e in range(ei.shape[1]):
        agg[ei[1, e]] += conv.lin.weight[et[e]] @ x[ei[0, e]]
    assert torch.allclose(conv(x, ei, edge_type=et), conv.nn(x + agg), atol=ATOL)


# ---------------------------------------------------------------- generic behaviour
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("typed", [False, True])
def test_gradient_flows(mode, typed):
    torch.manual_seed(0)
    x, ei, w, et = _typed_graph()
    x.requires_grad_(True)
    heads = 2 if mode in ("gat", "attention") else 1
    conv = BackboneConv(5, 4, mode=mode, heads=heads, num_edge_types=3 if typed else None)
    out = conv(x, ei, w, edge_type=et if typed else None)
    out.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in conv.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name != "eps":
            assert p.grad.abs().sum() > 0, name


def test_attention_dropout_train_vs_eval():
    torch.manual_seed(0)
    x, ei, _ = _graph()
    conv = BackboneConv(5, 4, mode="attention", heads=2, dropout=0.5)
    conv.eval()
    a, b = conv(x, ei), conv(x, ei)
    assert torch.equal(a, b)
    conv.train()
    assert not torch.allclose(conv(x, ei), a)


def test_repr():
    assert str(BackboneConv(5, 4)) == "BackboneConv(5, 4, mode='gcn')"
    assert str(BackboneConv(5, 4, mode="gat", heads=2, concat=False)) == \
        "BackboneConv(5, 4, mode='gat', heads=2, concat=False)"
    assert str(BackboneConv(5, 4, mode="attention", heads=2, num_edge_types=3, edge_dim=2)) \
        == "BackboneConv(5, 4, mode='attention', heads=2, num_edge_types=3, edge_dim=2)"


def test_errors():
    x, ei, w, et = _typed_graph()
    with pytest.raises(ValueError, match=r"'mode'.*\('gcn', 'gin', 'gat', 'attention'\).*'sage'"):
        BackboneConv(5, 4, mode="sage")
    with pytest.raises(ValueError, match="'heads' = 1"):
        BackboneConv(5, 4, mode="gcn", heads=2)
    with pytest.raises(ValueError, match="divisible"):
        BackboneConv(5, 5, mode="attention", heads=2)
    with pytest.raises(ValueError, match="edge_dim"):
        BackboneConv(5, 4, mode="gcn", edge_dim=3)
    with pytest.raises(ValueError, match="dropout"):
        BackboneConv(5, 4, mode="gat", dropout=1.0)
    with pytest.raises(ValueError, match="num_edge_types=None"):
        BackboneConv(5, 4)(x, ei, edge_type=et)
    with pytest.raises(ValueError, match="Expected 'edge_type'"):
        BackboneConv(5, 4, num_edge_types=3)(x, ei)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BackboneConv(5, 4, num_edge_types=2)(x, ei, edge_type=et)
    with pytest.raises(ValueError, match="mode='attention'"):
        BackboneConv(5, 4, mode="gcn")(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="edge_index"):
        BackboneConv(5, 4, mode="attention")(torch.randn(2, 3, 5), ei)
    with pytest.raises(ValueError, match="dense path only"):
        BackboneConv(5, 4, mode="attention")(x, ei, causal=True)
    with pytest.raises(ValueError, match="key_padding_mask"):
        BackboneConv(6, 6, mode="attention")(torch.randn(2, 3, 6),
                                             key_padding_mask=torch.ones(3, 2).bool())
