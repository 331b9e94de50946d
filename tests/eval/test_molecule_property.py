"""Molecular property metrics and the frozen linear probe: hand-made data, sklearn as the reference."""
import math

import numpy as np
import pytest
import torch

from graphcl.eval.molecule_property import (ALPHA_GRID, C_GRID, linear_probe_properties, property_metrics,
                                            rmse_per_task, roc_auc_per_task)

NAN = float("nan")


def test_roc_auc_perfect_separation_single_class_task_and_missing_labels():
    target = np.array([[1, 0, 1], [0, 0, NAN], [1, 0, 0], [0, NAN, 1], [NAN, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.2], [0.1, 0.3, 99.0], [0.8, 0.5, 0.7], [0.2, 0.0, 0.4], [-50.0, 0.2, 0.1]])
    out = roc_auc_per_task(target, scores)
    # task 0 perfectly separated (the NaN row's score -50 is ignored); task 1 only negatives: skipped;
    # task 2: positives score 0.2 and 0.4, negatives 0.7 and 0.1 -> pairs won: (0.2>0.1), (0.4>0.1) = 2 of 4
    assert out["per_task"] == [1.0, None, 0.5]
    assert out["mean"] == pytest.approx(0.75) and out["num_skipped"] == 1 and out["num_tasks"] == 3
    assert out["metric"] == "roc_auc"


def test_roc_auc_matches_sklearn_with_ties_and_torch_input():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(30, 2)).astype(float)
    s = np.round(rng.normal(size=(30, 2)), 1)  # rounded: ties
    y[::4, 1] = NAN
    out = roc_auc_per_task(torch.tensor(y), torch.tensor(s))
    keep = ~np.isnan(y[:, 1])
    assert out["per_task"][0] == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]))
    assert out["per_task"][1] == pytest.approx(roc_auc_score(y[keep, 1], s[keep, 1]))


def test_rmse_and_mae_by_hand():
    target = np.array([[1.0, NAN, NAN], [2.0, 0.0, NAN], [NAN, 3.0, NAN]])
    pred = np.array([[2.0, 7.0, 1.0], [0.0, 1.0, 1.0], [9.0, 1.0, 1.0]])
    out = rmse_per_task(target, pred)
    assert out["per_task"][0] == pytest.approx(math.sqrt((1 + 4) / 2))
    assert out["per_task"][1] == pytest.approx(math.sqrt((1 + 4) / 2))
    assert out["per_task"][2] is None and out["num_skipped"] == 1
    assert out["mae_per_task"][:2] == [pytest.approx(1.5), pytest.approx(1.5)]
    assert out["mean"] == pytest.approx(math.sqrt(2.5)) and out["mae_mean"] == pytest.approx(1.5)
    assert rmse_per_task([3.0, 1.0], [1.0, 1.0])["per_task"] == [pytest.approx(math.sqrt(2.0))]


def test_property_metrics_dispatch_and_errors():
    assert property_metrics("regression", [1.0], [3.0])["metric"] == "rmse"
    assert property_metrics("classification", [1, 0], [0.3, 0.1])["mean"] == 1.0
    with pytest.raises(ValueError, match=r"Expected 'task_type' to be one of \('classification', 'regression'\) "
                                         r"\(got 'ranking'\)"):
        property_metrics("ranking", [1.0], [1.0])
    with pytest.raises(ValueError, match=r"Expected 'target' and 'scores' of the same shape \(got \(2, 1\) and "
                                         r"\(3, 1\)\)"):
        roc_auc_per_task([1, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"binary labels .* \(got 2.0\)"):
        roc_auc_per_task([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"no NaN in 'pred' where 'target' has a label"):
        rmse_per_task([1.0, 2.0], [NAN, 1.0])


def _blobs(n, seed, flip=0.0):
    """Two Gaussian blobs in 5 dims, correlated features; a fraction `flip` of labels flipped."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    mix = np.array([[1.0, 0.8, 0, 0, 0], [0, 0.6, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0.5, 1, 0], [0, 0, 0, 0, 1]])
    x = (rng.normal(size=(n, 5)) + np.outer(y, [1.0, -0.5, 0.3, 0.0, 0.0])) @ mix
    y = np.where(rng.random(n) < flip, 1 - y, y)
    return x * 3.0 + 10.0, y.astype(float)  # shifted and scaled: the probe standardises


def _reference_valid_auc(train, valid, grid):
    """Independent reference: sklearn fits on train standardised by hand, scored on valid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    mu, sd = train[0].mean(0), train[0].std(0)
    out = []
    for c in grid:
        m = LogisticRegression(C=c, max_iter=2000).fit((train[0] - mu) / sd, train[1].astype(int))
        out.append(roc_auc_score(valid[1], m.predict_proba((valid[0] - mu) / sd)[:, 1]))
    return np.array(out)


def test_probe_chooses_by_validation_never_by_test():
    train, valid, test = _blobs(40, 0, flip=0.2), _blobs(30, 1), _blobs(30, 2)
    grid = (1e-3, 1e-2, 1.0, 100.0)
    ref = _reference_valid_auc(train, valid, grid)
    assert np.unique(np.round(ref, 12)).size > 1 and (ref == ref.max()).sum() == 1  # C matters on this data
    out = linear_probe_properties(train, valid, test, "classification", grid=grid)
    assert out["chosen"] == [grid[int(np.argmax(ref))]] and out["param"] == "C"
    np.testing.assert_allclose(out["valid_scores"][0], ref, atol=1e-9)
    assert out["valid"]["mean"] == pytest.approx(ref.max())
    # flipping the test labels changes nothing in the choice; the test AUC becomes 1 - AUC
    flipped = linear_probe_properties(train, valid, (test[0], 1 - test[1]), "classification", grid=grid)
    assert flipped["chosen"] == out["chosen"]
    assert flipped["test"]["mean"] == pytest.approx(1 - out["test"]["mean"])
    # flipping the validation labels does change it: now the worst validation C wins (here C = 1e-3 and 1e-2 tie
    # at the worst AUC: the first in grid order, the stronger regularisation, wins, as np.argmin picks)
    assert (ref == ref.min()).sum() == 2 and np.argmin(ref) != np.argmax(ref)
    by_flipped_valid = linear_probe_properties(train, (valid[0], 1 - valid[1]), test, "classification", grid=grid)
    assert by_flipped_valid["chosen"] == [grid[int(np.argmin(ref))]]


def test_probe_multitask_with_missing_labels_and_a_single_class_task():
    x_tr, y0 = _blobs(40, 3)
    x_va, v0 = _blobs(20, 4)
    x_te, t0 = _blobs(20, 5)
    y_tr = np.stack([y0, np.ones(40), y0], 1)  # task 1: one class in train -> skipped
    y_tr[:10, 2] = NAN
    y_va, y_te = np.stack([v0, v0, v0], 1), np.stack([t0, t0, t0], 1)
    out = linear_probe_properties((x_tr, y_tr), (x_va, y_va), (x_te, y_te), "classification")
    assert out["chosen"][1] is None and out["chosen"][0] in C_GRID and out["chosen"][2] in C_GRID
    assert out["test"]["per_task"][1] is None and out["test"]["num_skipped"] == 1
    assert out["test"]["per_task"][0] > 0.8  # the blobs are separable enough


def test_probe_regression_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    w = np.array([1.0, -2.0, 0.5])

    def split(n):
        x = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + 4.0
        return x, x @ w + 0.01 * rng.normal(size=n)

    train, valid, test = split(50), split(20), split(20)
    out = linear_probe_properties(train, valid, test, "regression")
    assert out["metric"] == "rmse" and out["param"] == "alpha" and out["grid"] == list(ALPHA_GRID)
    assert out["chosen"] == [0.01]  # a nearly noiseless linear target: the weakest ridge wins on validation
    assert out["test"]["mean"] < 0.05
    # a Ridge fitted by hand on the standardised train embeddings gives the same test RMSE
    from sklearn.linear_model import Ridge
    mu, sd = train[0].mean(0), train[0].std(0)
    pred = Ridge(alpha=0.01).fit((train[0] - mu) / sd, train[1]).predict((test[0] - mu) / sd)
    assert out["test"]["mean"] == pytest.approx(np.sqrt(np.mean((pred - test[1]) ** 2)))


def test_probe_errors():
    x, y = _blobs(10, 0)
    with pytest.raises(ValueError, match=r"Expected 'task_type' .* \(got 'clf'\)"):
        linear_probe_properties((x, y), (x, y), (x, y), "clf")
    with pytest.raises(ValueError, match=r"Expected 'valid' embeddings of shape \[N, D\] with one row per target "
                                         r"row \(got embeddings \(10, 5\) and targets \(9, 1\)\)"):
        linear_probe_properties((x, y), (x, y[:9]), (x, y), "classification")
    with pytest.raises(ValueError, match=r"Expected 'grid' to hold positive values \(got \(0.0, 1.0\)\)"):
        linear_probe_properties((x, y), (x, y), (x, y), "classification", grid=(0, 1))
