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


def _one_hot_embeddings(y, num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(y, num_classes).float() * 5 + 0.1 * torch.randn(len(y), num_classes,
                                                                                         generator=g)


def test_test_accuracy_is_measured_on_the_test_nodes_only():
    # labels flipped on the test nodes only: a perfect classifier of the true classes scores 1 on validation and
    # 0 on test, so a probe reporting its validation accuracy (or scoring any other nodes) as the test one fails
    y = torch.arange(300) % 3
    x = _one_hot_embeddings(y)
    train, val, test = random_split(300, 0.1, 0.1, seed=4)
    flipped = y.clone()
    flipped[test] = (y[test] + 1) % 3
    res = linear_probe(x, flipped, num_splits=1, seed=4)
    assert res.val_accuracies == [1.0] and res.accuracies == [0.0]
    res = linear_probe(x, flipped, public_split=(train, val, test))
    assert res.val_accuracies == [1.0] and res.accuracies == [0.0]


def test_normalize_off_keeps_the_row_norms():
    # the two classes differ only in the length of their (parallel) rows: after L2 normalisation every row is the
    # same, so the normalised probe predicts one class for all; the raw rows are separable
    torch.manual_seed(0)
    y = torch.arange(400) % 2
    x = (1.0 + 4.0 * y.float()).unsqueeze(1) * torch.tensor([[0.6, 0.8]])
    split = random_split(400, 0.5, 0.1, seed=0)
    raw = linear_probe(x, y, public_split=split, normalize=False, epochs=500, lr=0.05)
    unit = linear_probe(x, y, public_split=split, normalize=True, epochs=500, lr=0.05)
    assert raw.accuracies == [1.0]
    shares = [float((y[split[2]] == c).float().mean()) for c in (0, 1)]  # one class predicted for every node
    assert any(unit.accuracies[0] == pytest.approx(share) for share in shares) and max(shares) < 0.6
    # normalize=True is exactly the raw probe on L2-normalised rows
    z = torch.randn(400, 6)
    a = linear_probe(z, y, num_splits=2, normalize=True, epochs=50)
    b = linear_probe(torch.nn.functional.normalize(z, dim=1), y, num_splits=2, normalize=False, epochs=50)
    assert a.accuracies == b.accuracies and a.val_accuracies == b.val_accuracies


def _wikics_like(num_nodes=240, num_splits=3):
    """A tiny stand-in for WikiCS's masks: (N, S) train/val masks, one shared (N) test mask."""
    from torch_geometric.data import Data

    y = torch.arange(num_nodes) % 3
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(num_nodes, generator=g)
    test_mask = torch.zeros(num_nodes, dtype=torch.bool)
    test_mask[perm[:120]] = True
    rest = perm[120:]
    train_mask = torch.zeros(num_nodes, num_splits, dtype=torch.bool)
    val_mask = torch.zeros(num_nodes, num_splits, dtype=torch.bool)
    for s in range(num_splits):
        order = rest[torch.randperm(len(rest), generator=g)]
        train_mask[order[:60], s] = True
        val_mask[order[60:], s] = True
    train_mask[y == 2, num_splits - 1] = False  # the last split never trains on class 2
    return Data(x=_one_hot_embeddings(y), y=y, train_mask=train_mask, val_mask=val_mask, test_mask=test_mask)


def test_public_splits_from_2d_masks_use_each_column():
    data = _wikics_like()
    masks = (data.train_mask, data.val_mask, data.test_mask)
    res = linear_probe(data.x, data.y, public_split=masks, seed=3, epochs=100)
    test_share_2 = float((data.y[data.test_mask] == 2).float().mean())
    # class 2 is never predicted in the last split: its test nodes are all wrong, the others all right
    assert res.accuracies == [1.0, 1.0, pytest.approx(1 - test_share_2)]
    assert res.mean == pytest.approx((2 + 1 - test_share_2) / 3) and "3 public splits" in res.protocol
    for s in range(3):  # split s is the probe on column s, seeded seed + s
        one = tuple(m.nonzero().view(-1) for m in (data.train_mask[:, s], data.val_mask[:, s], data.test_mask))
        single = linear_probe(data.x, data.y, public_split=one, seed=3 + s, epochs=100)
        assert single.accuracies == [res.accuracies[s]] and single.val_accuracies == [res.val_accuracies[s]]
    one_d = linear_probe(data.x, data.y, public_split=tuple(m[:, 0] if m.dim() == 2 else m for m in masks), seed=3,
                         epochs=100)
    assert one_d.accuracies == [res.accuracies[0]] and one_d.protocol == "public split"


def test_public_split_errors_name_the_shapes():
    data = _wikics_like()
    with pytest.raises(ValueError, match=r"same number of columns"):
        linear_probe(data.x, data.y, public_split=(data.train_mask, data.val_mask[:, :2], data.test_mask))
    with pytest.raises(ValueError, match=r"boolean mask of shape \(240\)"):
        linear_probe(data.x, data.y, public_split=(data.train_mask[:10], data.val_mask, data.test_mask))
