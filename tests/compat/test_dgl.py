"""The DGL compat layer: DGL's core works on a torch it ships no graphbolt library for."""
import pytest
import torch

from graphcl.compat.dgl import DGLUnavailableError, graphbolt_available, import_dgl

dgl = import_dgl()


def _triangle():
    return dgl.graph((torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])), num_nodes=3)


def test_message_passing_with_builtins():
    g = _triangle()
    g.ndata["h"] = torch.tensor([[1.0], [2.0], [4.0]])
    g.update_all(dgl.function.copy_u("h", "m"), dgl.function.sum("m", "s"))
    # node 1 receives from 0, node 2 from 1, node 0 from 2
    assert g.ndata["s"].view(-1).tolist() == [4.0, 1.0, 2.0]


def test_graphconv_matches_pyg_gcn_with_same_weights():
    from torch_geometric.nn import GCNConv

    g = dgl.add_self_loop(dgl.to_bidirected(_triangle()))
    x = torch.randn(3, 4)
    conv = dgl.nn.GraphConv(4, 2, norm="both")
    ref = GCNConv(4, 2)
    with torch.no_grad():
        ref.lin.weight.copy_(conv.weight.T)
        ref.bias.copy_(conv.bias)
    src, dst = g.edges()
    ei = torch.stack([src, dst])
    ei = ei[:, ei[0] != ei[1]]
    assert torch.allclose(conv(g, x), ref(x, ei), atol=1e-5)


def test_batching_readout_and_autograd():
    g = dgl.batch([_triangle(), _triangle()])
    x = torch.randn(6, 3, requires_grad=True)
    g.ndata["h"] = x
    out = dgl.readout_nodes(g, "h", op="sum")
    assert out.shape == (2, 3)
    assert torch.allclose(out, x.view(2, 3, 3).sum(1))
    out.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))


def test_gatconv_runs_and_backpropagates():
    g = dgl.add_self_loop(_triangle())
    conv = dgl.nn.GATConv(4, 2, num_heads=3)
    out = conv(g, torch.randn(3, 4))
    assert out.shape == (3, 3, 2)
    out.sum().backward()
    assert conv.fc.weight.grad is not None


@pytest.mark.skipif(graphbolt_available(), reason="graphbolt ships for this torch: no stand-in is used")
def test_graphbolt_use_gives_a_clear_error():
    import dgl.graphbolt as gb

    with pytest.raises(DGLUnavailableError, match="no graphbolt library for torch"):
        gb.ItemSampler
