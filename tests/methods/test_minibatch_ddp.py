"""Mini-batch node training on 2 Gloo processes (DistributedDataParallel) against 1 process with the same global
batch: the same losses and parameters; ``graphcl.runner.run`` under the process group writes from rank 0 only."""
import json
from pathlib import Path

import numpy as np
import pytest

from tests.train.distributed_testing import run_in_processes

# 200 nodes in batches of 63: 63, 63, 63, 11 seeds, split 32/31 and 6/5 over 2 processes (uneven shares)
METHODS = {"grace": {"batch_size": 63, "num_hidden": 16, "num_proj_hidden": 16},
           "csgcl": {"batch_size": 63, "num_hidden": 16, "num_proj_hidden": 16, "t0": 0},  # t0 = 0: strengths count
           "ggd": {"batch_size": 63, "num_hidden": 32}}
RUN = {"batch_size": 300, "epochs": 2, "num_hidden": 16, "num_proj_hidden": 16, "eval_splits": 1,
       "eval_epochs": 20, "checkpoint_every": 1}


def _train_methods() -> dict:
    """Two mini-batch epochs of each method on one small graph: the losses and the final parameters."""
    import torch

    from graphcl.data import csbm
    from graphcl.methods import get_method, resolve_config
    from graphcl.train.distributed import world_size

    data = csbm(num_nodes=200, num_blocks=4, num_features=16, p_in=0.08, p_out=0.01, seed=0)
    out = {}
    for name, extra in METHODS.items():
        cls = get_method(name)
        method = cls(data, resolve_config(cls, "synthetic", overrides=extra))
        losses = [method.train_epoch(epoch) for epoch in (1, 2)]
        out[name] = (losses, [p.detach().numpy().copy() for p in method.model.parameters()])
    # 127 nodes in batches of 63: a last batch of 1 seed cannot be shared by 2 processes; it waits
    cls = get_method("grace")
    method = cls(data.subgraph(torch.arange(127)), resolve_config(cls, "synthetic", overrides=METHODS["grace"]))
    out["uneven"] = method.train_epoch(1) if world_size() > 1 else method.minibatch.train_epoch(1, max_batches=2)
    return out


def _run(out: str) -> dict:
    """``graphcl.runner.run`` of mini-batch GRACE into ``out``; then a full-batch run, which must be refused."""
    from graphcl.runner import run

    metrics = run("grace", "synthetic", overrides=RUN, out=out, progress=False)
    try:
        run("grace", "synthetic", overrides={"epochs": 1}, out=out + "-full", progress=False)
        refused = None
    except ValueError as err:
        refused = str(err)
    return {"metrics": metrics, "refused": refused}


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ddp") / "run")
    methods, run_ = zip(*run_in_processes(_both, 2, out, timeout=180))
    return methods, run_, out


def _both(out: str) -> tuple[dict, dict]:
    return _train_methods(), _run(out)


@pytest.fixture(scope="module")
def one_process():
    return _train_methods()


@pytest.mark.parametrize("name", list(METHODS))
def test_two_processes_take_the_steps_of_one_with_the_same_global_batch(two_processes, one_process, name):
    methods, _, _ = two_processes
    losses, params = one_process[name]
    for rank in (0, 1):
        rank_losses, rank_params = methods[rank][name]
        assert np.allclose(rank_losses, losses, rtol=1e-5, atol=1e-6)
        assert len(rank_params) == len(params)
        for got, want in zip(rank_params, params):
            assert np.allclose(got, want, rtol=1e-4, atol=1e-6)
    assert losses[1] != losses[0]  # it trained


def test_a_last_batch_smaller_than_the_processes_waits(two_processes, one_process):
    methods, _, _ = two_processes
    assert methods[0]["uneven"] == methods[1]["uneven"] == pytest.approx(one_process["uneven"], rel=1e-5)


def test_rank_zero_alone_writes_and_evaluates(two_processes, tmp_path):
    from graphcl.runner import run

    _, runs, out = two_processes
    main, other = runs[0]["metrics"], runs[1]["metrics"]
    assert main["processes"] == other["processes"] == 2
    assert "linear_probe" in main and "linear_probe" not in other
    assert np.allclose(main["losses"], other["losses"])
    saved = json.loads((Path(out) / "metrics.json").read_text())
    assert saved["losses"] == main["losses"] and saved["processes"] == 2
    assert {p.name for p in Path(out).iterdir()} >= {"config.yaml", "metrics.json", "embeddings.npy",
                                                     "checkpoint.pt"}
    one = run("grace", "synthetic", overrides=RUN, out=tmp_path / "one", progress=False)
    assert np.allclose(one["losses"], main["losses"], rtol=1e-5)
    assert np.allclose(np.load(tmp_path / "one" / "embeddings.npy"), np.load(Path(out) / "embeddings.npy"),
                       rtol=1e-4, atol=1e-5)
    for r in runs:  # full-batch training under a process group: refused on every rank, nothing written
        assert "2 processes need mini-batch training: set 'batch_size'" in r["refused"]
    assert not Path(out + "-full").exists()
