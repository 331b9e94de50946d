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
