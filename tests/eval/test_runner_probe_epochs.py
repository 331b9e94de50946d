"""graphcl.runner.evaluate_embeddings passes the config's probe length (eval_epochs) to the linear probe."""
import torch

import graphcl.runner as runner
from graphcl.data import csbm
from graphcl.methods.config import COMMON_DEFAULTS


def _spy_probe(monkeypatch, key):
    """Record the keyword ``key`` of every linear-probe call the runner makes (the list fills as it runs)."""
    seen = []
    real = runner.linear_probe

    def spy(*args, **kwargs):
        seen.append(kwargs.get(key))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "linear_probe", spy)
    return seen


def _evaluate(monkeypatch, config):
    seen = _spy_probe(monkeypatch, "epochs")
    data = csbm(num_nodes=60, num_blocks=2, num_features=6, seed=0)
    runner.evaluate_embeddings(torch.randn(60, 4), data, config)
    return seen


def test_probe_epochs_from_config(monkeypatch):
    base = {"eval_splits": 2, "eval_seed": 0}
    assert _evaluate(monkeypatch, {**base, "eval_epochs": 7}) == [7]
    # a config saved before the key existed gets the default
    assert _evaluate(monkeypatch, base) == [COMMON_DEFAULTS["eval_epochs"]]


def test_probe_normalisation_and_public_splits_from_config(monkeypatch):
    """eval_normalize reaches the probe; WikiCS-style (N, S) masks give one public-split probe per column."""
    seen = _spy_probe(monkeypatch, "normalize")
    data = csbm(num_nodes=60, num_blocks=2, num_features=6, seed=0)
    g = torch.Generator().manual_seed(0)
    data.train_mask = torch.rand(60, 3, generator=g) < 0.3
    data.val_mask = ~data.train_mask & (torch.rand(60, 3, generator=g) < 0.5)
    data.test_mask = torch.rand(60, generator=g) < 0.5
    metrics, _ = runner.evaluate_embeddings(torch.randn(60, 4), data, {"eval_splits": 2, "eval_seed": 0,
                                                                       "eval_epochs": 5, "eval_normalize": False})
    assert seen == [False, False]
    assert len(metrics["linear_probe_public_split"]["accuracies"]) == 3
    seen.clear()
    runner.evaluate_embeddings(torch.randn(60, 4), data, {"eval_splits": 2, "eval_seed": 0})  # saved before the key
    assert seen == [COMMON_DEFAULTS["eval_normalize"]] * 2 == [True, True]
