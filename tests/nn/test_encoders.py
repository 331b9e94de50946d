import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import GATConv, GCNConv

from graphcl.nn import GATEncoder, GCNEncoder, GINEncoder


def _graph():
    torch.manual_seed(0)
    ei = torch.tensor([[0, 1, 2, 3, 4, 0, 2], [1, 2, 3, 4, 0, 3, 0]])
    return torch.randn(5, 6), ei


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_gcn_encoder_matches_grace_stack(num_layers):
    """GRACE's Encoder: widths in -> 2*out -> ... -> out, activation after every layer."""
    x, ei = _graph()
    enc = GCNEncoder(6, None, 4, num_layers=num_layers, activation="prelu")
    widths = [6] + [8] * (num_layers - 1) + [4]
    assert [(c.in_channels, c.out_channels) for c in enc.convs] == list(zip(widths, widths[1:]))
    h = x
    for conv, act in zip(enc.convs, enc.acts):
        conv.bias.data.normal_()
        act.weight.data.uniform_(0.1, 0.5)
    for conv, act in zip(enc.convs, enc.acts):
        ref = GCNConv(conv.in_channels, conv.out_channels)
        ref.lin.weight.data.copy_(conv.lin.weight)
        ref.bias.data.copy_(conv.bias)
        h = F.prelu(ref(h, ei), act.weight)
    assert torch.allclose(enc(x, ei), h, atol=1e-5)
    # one learnable PReLU per layer
    assert len({id(a.weight) for a in enc.acts}) == num_layers


def test_gcn_encoder_options():
    x, ei = _graph()
    enc = GCNEncoder(6, 16, 4, num_layers=2, act_last=False, cached=True, dropout=0.5)
    assert len(enc.acts) == 1 and enc.hidden_channels == 16
    enc.eval()
    outs = enc(x, ei, return_all=True)
    assert [o.shape for o in outs] == [(5, 16), (5, 4)]
    assert (outs[-1] < 0).any()  # no activation after the last layer
    assert str(enc) == "GCNEncoder(6, 4, num_layers=2, activation='relu')"
    with pytest.raises(ValueError, match="num_layers"):
        GCNEncoder(6, None, 4, num_layers=0)
    with pytest.raises(ValueError, match="'activation'"):
        GCNEncoder(6, None, 4, activation="bogus")


def test_gat_encoder_matches_pyg_stack():
    x, ei = _graph()
    enc = GATEncoder(6, 8, 3, num_layers=2, heads=2, activation="elu")
    c1, c2 = enc.convs
    assert (c1.heads, c1.out_channels, c1.concat) == (2, 4, True)
    assert (c2.heads, c2.out_channels, c2.concat, c2.in_channels) == (2, 3, False, 8)
    h = x
    for conv in enc.convs:
        ref = GATConv(conv.in_channels, conv.out_channels, heads=2, concat=conv.concat)
        for name in ("att_src", "att_dst", "bias"):
            getattr(ref, name).data.copy_(getattr(conv, name))
        ref.lin.weight.data.copy_(conv.lin.weight)
        h = F.elu(ref(h, ei))
    assert torch.allclose(enc(x, ei), h, atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        GATEncoder(6, 9, 3, heads=2)


def test_gin_encoder_and_gradients():
    x, ei = _graph()
    enc = GINEncoder(6, None, 4, num_layers=3, train_eps=True)
    h = x
    for conv in enc.convs:
        agg = torch.zeros_like(h).index_add_(0, ei[1], h[ei[0]])
        h = F.relu(conv.nn((1 + conv.eps) * h + agg))
    out = enc(x, ei)
    assert torch.allclose(out, h, atol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


def _hop_ordered_graph(counts=(4, 9, 20, 12), num_edges=160, seed=0):
    """Random edges whose sources lie at most one hop beyond their targets (as in a sampled subgraph, with edges
    dropped, and with edges into the last hop), nodes ordered by hop; some self-loops."""
    gen = torch.Generator().manual_seed(seed)
    hops = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    starts = torch.tensor((0,) + counts).cumsum(0)
    dst = torch.randint(sum(counts), (num_edges,), generator=gen)
    reach = starts[(hops[dst] + 2).clamp(max=len(counts))]  # sources: any node within one hop beyond
    src = (torch.rand(num_edges, generator=gen) * reach).long()
    loops = torch.arange(0, sum(counts), 5)
    ei = torch.cat([torch.stack([src, dst]), loops.expand(2, -1)], dim=1)
    return torch.randn(sum(counts), 6, generator=gen), ei, list(counts)


@pytest.mark.parametrize("make", [
    lambda: GCNEncoder(6, 8, 4, num_layers=2),
    lambda: GCNEncoder(6, 8, 4, num_layers=3, activation="prelu", improved=True),
    lambda: GCNEncoder(6, 8, 4, num_layers=2, add_self_loops=False),
    lambda: GATEncoder(6, 8, 4, num_layers=2, heads=2),
    lambda: GINEncoder(6, 8, 4, num_layers=3),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_trimmed_layers_give_the_hop0_nodes_their_outputs_and_gradients(make, weighted):
    x, ei, counts = _hop_ordered_graph()
    weight = torch.rand(ei.shape[1], generator=torch.Generator().manual_seed(1)) + 0.5 if weighted else None
    enc = make()
    seen = []
    hooks = [conv.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[0])) for conv in enc.convs]
    full = enc(x, ei, weight, return_all=True)
    full_grads = torch.autograd.grad(full[-1][:4].square().sum(), list(enc.parameters()))
    seen.clear()
    trimmed = enc(x, ei, weight, return_all=True, num_sampled_nodes=counts)
    grads = torch.autograd.grad(trimmed[-1].square().sum(), list(enc.parameters()))
    for h in hooks:
        h.remove()
    # layer l reads the nodes within L - l hops only
    assert seen == [sum(counts[:enc.num_layers - i + 1]) for i in range(enc.num_layers)]
    for a, b in zip(trimmed, full):
        assert torch.allclose(a, b[:4], atol=1e-6)
    for a, b in zip(grads, full_grads):
        assert torch.allclose(a, b, atol=1e-6)


def test_trimmed_gcn_keeps_the_degrees_of_sources_whose_in_edges_are_cut():
    # 0 <- 1 <- 2, 3: node 1 feeds the seed in the last layer, its degree counts the edges from 2 and 3
    x, ei = torch.randn(4, 3), torch.tensor([[1, 2, 3], [0, 1, 1]])
    enc = GCNEncoder(3, 5, 2, num_layers=2)
    assert torch.allclose(enc(x, ei, num_sampled_nodes=[1, 1, 2]), enc(x, ei)[:1], atol=1e-6)


def test_trimmed_forward_takes_sparse_features():
    x, ei, counts = _hop_ordered_graph()
    x = x.relu()
    enc = GCNEncoder(6, 8, 4, num_layers=2)
    with torch.no_grad():
        assert torch.allclose(enc(x.to_sparse_csr(), ei, num_sampled_nodes=counts), enc(x, ei)[:4], atol=1e-6)


def test_trimmed_forward_rejects_bad_counts_and_cached_layers():
    x, ei, _ = _hop_ordered_graph()
    with pytest.raises(ValueError, match=r"Expected 'num_sampled_nodes' to be node counts per hop summing to the "
                                         r"45 rows of 'x' \(got \[4, 9\]\)"):
        GCNEncoder(6, 8, 4)(x, ei, num_sampled_nodes=[4, 9])
    with pytest.raises(ValueError, match=r"'num_sampled_nodes' needs layers without a cached graph \(layers \[0, 1\]"):
        GCNEncoder(6, 8, 4, cached=True)(x, ei, num_sampled_nodes=[4, 9, 20, 12])
