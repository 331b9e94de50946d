"""graphcl.runner.evaluate_embeddings passes the config's probe length (eval_epochs) to the linear probe."""
import torch

import graphcl.runner as runner
from graphcl.data import csbm
from graphcl.methods.config import COMMON_DEFAULTS


def _evaluate(monkeypatch, config):
    seen = []
    real = runner.linear_probe

    def spy(*args, **kwargs):
        seen.append(kwargs.get("epochs"))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "linear_probe", spy)
    data = csbm(num_nodes=60, num_blocks=2, num_features=6, seed=0)
    runner.evaluate_embeddings(torch.randn(60, 4), data, config)
    return seen


def test_probe_epochs_from_config(monkeypatch):
    base = {"eval_splits": 2, "eval_seed": 0}
    assert _evaluate(monkeypatch, {**base, "eval_epochs": 7}) == [7]
    # a config saved before the key existed gets the default
    assert _evaluate(monkeypatch, base) == [COMMON_DEFAULTS["eval_epochs"]]
