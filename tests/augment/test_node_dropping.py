import pytest
import torch

from graphcl.augment import NodeDropping


def _edge_set(ei, n, ids=None):
    if ids is not None:
        ei = ids[ei]
    return set((ei[0] * n + ei[1]).tolist())


def test_relabel_subgraph_is_induced(graph):
    n = graph.num_nodes
    out = NodeDropping(0.4, generator=torch.Generator().manual_seed(0))(graph)
    kept = out.n_id
    assert out.num_nodes == kept.numel() == out.x.size(0)
    assert torch.equal(out.x, graph.x[kept]) and torch.equal(out.y, graph.y[kept])
    mask = torch.zeros(n, dtype=torch.bool)
    mask[kept] = True
    induced = graph.edge_index[:, mask[graph.edge_index[0]] & mask[graph.edge_index[1]]]
    assert _edge_set(out.edge_index, n, kept) == _edge_set(induced, n)
    # edge attributes follow (they encode original endpoints)
    code = (kept[out.edge_index[0]] * n + kept[out.edge_index[1]]).float()
    assert torch.equal(out.edge_attr[:, 0], code)


def test_no_relabel_keeps_nodes_and_isolates_dropped(graph):
    out = NodeDropping(0.4, relabel_nodes=False, generator=torch.Generator().manual_seed(0))(graph)
    assert torch.equal(out.x, graph.x) and out.num_nodes == graph.num_nodes and 'n_id' not in out
    dropped = torch.rand(graph.num_nodes, generator=torch.Generator().manual_seed(0)) < 0.4
    assert not dropped[out.edge_index].any()


def test_rate(graph):
    aug = NodeDropping(0.25, generator=torch.Generator().manual_seed(1))
    kept = [aug(graph).num_nodes for _ in range(400)]
    assert abs(1 - sum(kept) / (400 * graph.num_nodes) - 0.25) < 0.02


def test_composes_n_id(graph):
    g = torch.Generator().manual_seed(2)
    once = NodeDropping(0.3, generator=g)(graph)
    twice = NodeDropping(0.3, generator=g)(once)
    assert torch.equal(twice.x, graph.x[twice.n_id])


def test_errors():
    with pytest.raises(ValueError, match="'p'"):
        NodeDropping(2)
