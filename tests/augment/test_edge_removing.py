import pytest
import torch
from augment_testing import assert_edge_attrs_aligned, is_undirected, make_graph
from torch_geometric.data import Data

from graphcl.augment import EdgeRemoving


def test_hand_checked_path():
    # path 0-1-2 in both directions; one draw per unordered pair, pairs in sorted order {0,1}, {1,2}
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    data = Data(edge_index=ei, num_nodes=3)
    for seed in range(5):
        u = torch.rand(2, generator=torch.Generator().manual_seed(seed))
        out = EdgeRemoving(0.5, generator=torch.Generator().manual_seed(seed))(data)
        expected = [e for e, pair in zip(ei.t().tolist(), [0, 0, 1, 1]) if u[pair] >= 0.5]
        assert out.edge_index.t().tolist() == expected


def test_extremes(graph):
    assert torch.equal(EdgeRemoving(0.0)(graph).edge_index, graph.edge_index)
    out = EdgeRemoving(1.0)(graph)
    assert out.edge_index.shape == (2, 0) and out.edge_attr.shape == (0, 2) and out.edge_weight.shape == (0,)


@pytest.mark.parametrize('undirected', [True, False])
def test_rate_alignment_and_symmetry(graph, undirected):
    n, e = graph.num_nodes, graph.num_edges
    original = set((graph.edge_index[0] * n + graph.edge_index[1]).tolist())
    aug = EdgeRemoving(0.3, undirected=undirected, generator=torch.Generator().manual_seed(0))
    kept, asym = [], 0
    for _ in range(300):
        out = aug(graph)
        assert_edge_attrs_aligned(out, n)
        assert set((out.edge_index[0] * n + out.edge_index[1]).tolist()) <= original
        asym += not is_undirected(out.edge_index, n)
        kept.append(out.num_edges / e)
    assert abs(sum(kept) / len(kept) - 0.7) < 0.02
    if undirected:
        assert asym == 0
    else:
        assert asym > 250  # directions drawn separately: almost every view is directed


def test_errors():
    with pytest.raises(ValueError, match=r"'p'.*\[0, 1\].*1.5"):
        EdgeRemoving(1.5)
    assert repr(EdgeRemoving(0.2)) == 'EdgeRemoving(p=0.2, undirected=True)'


def test_keeps_unknown_edge_level_attributes():
    data = make_graph()
    data.edge_type = torch.arange(data.num_edges)
    out = EdgeRemoving(0.5, generator=torch.Generator().manual_seed(3))(data)
    assert torch.equal(data.edge_index[:, out.edge_type], out.edge_index)



def test_pair_cache_follows_in_place_changes():
    data = Data(edge_index=make_graph(20, 0.3).edge_index.clone(), num_nodes=20)
    aug = EdgeRemoving(0.5, generator=torch.Generator().manual_seed(0))
    aug(data)  # caches the pair index of this edge_index tensor
    perm = torch.randperm(data.num_edges, generator=torch.Generator().manual_seed(1))
    data.edge_index[:] = data.edge_index[:, perm].clone()  # same tensor object, edges reordered in place
    for _ in range(20):
        assert is_undirected(aug(data).edge_index, 20)  # a stale pair index would split pairs
