import pytest
import torch
from torch_geometric.nn.aggr import Set2Set

from graphcl.nn.readout import READOUTS, WeightedSumAndMax, graph_readout


def _batch():
    torch.manual_seed(0)
    x = torch.randn(7, 4)
    batch = torch.tensor([0, 0, 0, 1, 1, 3, 3])  # graph 2 has no nodes
    return x, batch, 4


@pytest.mark.parametrize("name,reduce", [("sum", torch.sum), ("mean", torch.mean),
                                         ("max", lambda t, dim: t.max(dim).values)])
def test_pooling_hand_computed(name, reduce):
    x, batch, B = _batch()
    out = graph_readout(name, 4)(x, batch, B)
    for g in range(B):
        rows = x[batch == g]
        expected = reduce(rows, dim=0) if rows.numel() else torch.zeros(4)
        assert torch.allclose(out[g], expected, atol=1e-6)
    assert graph_readout(name, 4).out_channels == 4


def test_weighted_sum_and_max_hand_computed():
    x, batch, B = _batch()
    r = WeightedSumAndMax(4)
    out = r(x, batch, B)
    assert out.shape == (B, 8) and r.out_channels == 8
    gate = torch.sigmoid(x @ r.gate.weight.t() + r.gate.bias)
    for g in range(B):
        m = batch == g
        if m.any():
            assert torch.allclose(out[g, :4], (gate[m] * x[m]).sum(0), atol=1e-6)
            assert torch.allclose(out[g, 4:], x[m].max(0).values, atol=1e-6)
        else:
            assert torch.equal(out[g], torch.zeros(8))
    assert isinstance(graph_readout("sum_max", 4), WeightedSumAndMax)


def test_set2set_matches_pyg_with_reference_settings():
    x, batch, B = _batch()
    r = graph_readout("set2set", 4)
    assert r.out_channels == 8
    assert r.set2set.processing_steps == 6 and r.set2set.lstm.num_layers == 3
    ref = Set2Set(4, 6, num_layers=3)
    ref.load_state_dict(r.set2set.state_dict())
    assert torch.allclose(r(x, batch, B), ref(x, batch, dim_size=B), atol=1e-6)


@pytest.mark.parametrize("name", READOUTS)
def test_permutation_invariant(name):
    x, batch, B = _batch()
    r = graph_readout(name, 4)
    perm = torch.randperm(7)
    assert torch.allclose(r(x, batch, B), r(x[perm], batch[perm], B), atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match=r"'name'.*\(got 'attention'\)"):
        graph_readout("attention", 4)
    with pytest.raises(ValueError, match=r"'in_channels'.*\(got 0\)"):
        graph_readout("sum", 0)
    with pytest.raises(ValueError, match=r"'batch' of shape \(N,\)"):
        graph_readout("sum", 4)(torch.randn(3, 4), torch.zeros(2, dtype=torch.long), 1)
