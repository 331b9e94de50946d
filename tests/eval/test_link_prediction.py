import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected

from graphcl.eval.link_prediction import link_prediction_scores, sample_non_edges, split_edges


def _graph(n=40, p=0.15, seed=0):
    g = torch.Generator().manual_seed(seed)
    iu = torch.triu_indices(n, n, offset=1)
    ei = coalesce(to_undirected(iu[:, torch.rand(iu.size(1), generator=g) < p]), num_nodes=n)
    code = (ei[0] * n + ei[1]).float()
    return Data(x=torch.randn(n, 3, generator=g), edge_index=ei, edge_attr=code.view(-1, 1), num_nodes=n)


def _keys(ei, n):
    return set((torch.minimum(ei[0], ei[1]) * n + torch.maximum(ei[0], ei[1])).tolist())


def test_split_sizes_disjointness_and_symmetry():
    data = _graph()
    n, m = data.num_nodes, data.num_edges // 2
    s = split_edges(data, val_ratio=0.1, test_ratio=0.2, seed=3)
    assert s.val_pos.size(1) == round(0.1 * m) and s.test_pos.size(1) == round(0.2 * m)
    assert s.val_neg.size(1) == s.val_pos.size(1) and s.test_neg.size(1) == s.test_pos.size(1)
    edges = _keys(data.edge_index, n)
    train = _keys(s.train_data.edge_index, n)
    val, test = _keys(s.val_pos, n), _keys(s.test_pos, n)
    assert val | test | train == edges and not (val & test) and not (train & (val | test))
    negs = _keys(torch.cat([s.val_neg, s.test_neg], 1), n)
    assert len(negs) == s.val_neg.size(1) + s.test_neg.size(1)  # distinct
    assert not (negs & edges) and torch.all(s.test_neg[0] < s.test_neg[1])
    # held-out pairs leave in both directions: the training graph stays undirected
    tei = s.train_data.edge_index
    assert set((tei[0] * n + tei[1]).tolist()) == set((tei[1] * n + tei[0]).tolist())
    assert tei.size(1) == 2 * len(train)
    # edge attributes follow their edges; the input is untouched
    assert torch.equal(s.train_data.edge_attr.view(-1), (tei[0] * n + tei[1]).float())
    assert data.num_edges == 2 * m and s.train_data.x is data.x


def test_seeded():
    data = _graph()
    a, b, c = split_edges(data, seed=1), split_edges(data, seed=1), split_edges(data, seed=2)
    assert torch.equal(a.test_pos, b.test_pos) and torch.equal(a.test_neg, b.test_neg)
    assert not torch.equal(a.test_pos, c.test_pos)


def test_non_edges_uniform_and_exhaustive():
    # a path on 5 nodes has 10 - 4 = 6 non-edges; asking for all 6 must return exactly them
    ei = to_undirected(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
    out = sample_non_edges(ei, 5, 6, torch.Generator().manual_seed(0))
    assert _keys(out, 5) == {0 * 5 + 2, 0 * 5 + 3, 0 * 5 + 4, 1 * 5 + 3, 1 * 5 + 4, 2 * 5 + 4}
    with pytest.raises(ValueError, match='at most 6'):
        sample_non_edges(ei, 5, 7, torch.Generator().manual_seed(0))


def test_scores_against_sklearn():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(10, 4, generator=g)
    pos, neg = torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[6, 7], [8, 9]])
    s = (z[torch.cat([pos, neg], 1)[0]] * z[torch.cat([pos, neg], 1)[1]]).sum(-1)
    y = [1, 1, 1, 0, 0]
    out = link_prediction_scores(z, pos, neg)
    assert out['auc'] == pytest.approx(roc_auc_score(y, s.numpy()))
    assert out['ap'] == pytest.approx(average_precision_score(y, s.numpy()))


def test_perfect_and_inverted_scores():
    z = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    pos, neg = torch.tensor([[0, 2], [1, 3]]), torch.tensor([[0, 1], [2, 3]])
    assert link_prediction_scores(z, pos, neg) == {'auc': 1.0, 'ap': 1.0}
    assert link_prediction_scores(z, neg, pos)['auc'] == 0.0
    assert link_prediction_scores(z, pos, neg, score='cosine')['auc'] == 1.0


def test_errors():
    data = _graph()
    with pytest.raises(ValueError, match="'test_ratio'"):
        split_edges(data, test_ratio=1.0)
    with pytest.raises(ValueError, match="'val_ratio' \\+ 'test_ratio'"):
        split_edges(data, val_ratio=0.5, test_ratio=0.5)
    with pytest.raises(ValueError, match="'score'"):
        link_prediction_scores(torch.randn(3, 2), torch.tensor([[0], [1]]), torch.tensor([[0], [2]]), score='l2')
