import pytest
import torch
from sklearn.linear_model import LogisticRegression

from graphcl.eval import linear_probe, random_split


def test_random_split_sizes_disjoint_and_seeded():
    tr, va, te = random_split(100, 0.1, 0.1, seed=1)
    assert (len(tr), len(va), len(te)) == (10, 10, 80)
    assert len(set(tr.tolist()) | set(va.tolist()) | set(te.tolist())) == 100
    assert torch.equal(tr, random_split(100, 0.1, 0.1, seed=1)[0])
    assert not torch.equal(tr, random_split(100, 0.1, 0.1, seed=2)[0])
    with pytest.raises(ValueError, match="train_ratio"):
        random_split(10, 0.9, 0.2)


def test_separable_embeddings_are_classified_perfectly():
    y = torch.arange(300) % 3
    x = torch.nn.functional.one_hot(y, 3).float() * 5 + 0.1 * torch.randn(300, 3)
    res = linear_probe(x, y, num_splits=3)
    assert res.mean == 1.0 and len(res.accuracies) == 3


def test_random_embeddings_stay_near_chance():
    torch.manual_seed(0)
    y = torch.arange(1000) % 4
    res = linear_probe(torch.randn(1000, 16), y, num_splits=2)
    assert res.mean < 0.35


def test_agrees_with_sklearn_logistic_regression():
    torch.manual_seed(0)
    y = torch.arange(600) % 3
    centres = torch.randn(3, 8)
    x = centres[y] + 0.8 * torch.randn(600, 8)
    ours = linear_probe(x, y, num_splits=1, train_ratio=0.5, val_ratio=0.1, normalize=False)
    tr, _, te = random_split(600, 0.5, 0.1, seed=0)
    sk = LogisticRegression(max_iter=1000).fit(x[tr], y[tr]).score(x[te], y[te])
    assert abs(ours.mean - sk) < 0.03


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="Expected embeddings"):
        linear_probe(torch.randn(5, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(torch.full((5, 2), float("nan")), torch.zeros(5, dtype=torch.long))
