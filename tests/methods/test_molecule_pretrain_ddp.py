"""Molecule pretraining on two Gloo processes trains as one process over the same global batch (KCL: deterministic
views), writes checkpoints and outputs from rank 0 alone (one output folder) and resumes on every rank; the random
views of GraphCL-mol are seeded per step (a resumed run draws the views of the uninterrupted one)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from graphcl.methods import molecule_base
from graphcl.methods.graphcl_mol import GraphCLMol
from graphcl.methods.kcl import KCL
from graphcl.molecule_runner import pretrain
from graphcl.molecules.featurize import smiles_to_data
from graphcl.train import CHECKPOINT_NAME, fit, load_checkpoint, loop
from graphcl.train.distributed import rank
from tests.train.distributed_testing import run_in_processes

# 11 molecules, global batches of 4: 4 + 4 + 3 per epoch, split 2 + 2, 2 + 2 and 2 + 1 between two processes
SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCCO", "c1ccncc1", "CCCl", "CC(C)O", "C1CCCCC1", "CS(=O)C", "CCCCO"]
TINY_KCL = {"original_encoder": {"mode": "gcn", "hidden_channels": 8, "num_layers": 2, "readout": "sum_max",
                                 "residual": True, "atom_columns": [0]},
            "augmented_encoder": {"hidden_channels": 8, "edge_channels": 4, "edge_hidden_channels": 8,
                                  "num_steps": 2, "readout": "set2set", "atom_columns": [0]},
            "kg_embedding_dim": 8, "kg_embedding_epochs": 2, "batch_size": 4, "lr": 1.0e-3}
TINY_GIN = {"encoder": {"mode": "gin", "hidden_channels": 8, "num_layers": 2, "readout": "mean", "residual": False},
            "projection_channels": 4, "batch_size": 4}


def _config(cls, base, **extra):
    return {**cls.defaults, **base, **extra, "method": cls.name}


def _molecules():
    return [smiles_to_data(s) for s in SMILES]


def _weights(method) -> dict[str, np.ndarray]:
    """The trainable parameters (batch-norm running statistics are per process on CPUs: rank 0's are kept)."""
    return {name: value.detach().numpy().copy() for name, value in method.model.named_parameters()}


class _StoppedClock:
    """A clock that never advances: on rank 1, only rank 0's clock can spend the time budget."""

    @staticmethod
    def perf_counter() -> float:
        return 0.0


def _two_process_runs(out: Path) -> dict:
    """On each rank: KCL one epoch with checkpoints into a folder of this rank's own, then resumed on every rank from
    rank 0's checkpoint to two epochs; GraphCL-mol (random views) with a time budget that rank 0's clock spends in
    the first epoch (rank 1's stands still)."""
    me = rank()
    first = KCL(_molecules(), _config(KCL, TINY_KCL))
    fit(first, 1, out / f"rank{me}", progress=False)
    resumed = KCL(_molecules(), _config(KCL, TINY_KCL), initialise=False)
    losses = fit(resumed, 2, out / "rank0", load_checkpoint(out / "rank0"), progress=False)
    random_views = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN))
    if me == 1:
        loop.time = _StoppedClock
    budget_losses = fit(random_views, 5, progress=False, max_seconds=0.0)
    os.chdir(out / "cwd")  # graphcl pretrain without --out: rank 0 names the (time-stamped, per-pid) folder
    pretrain("kcl", out / "corpus.smi", overrides={**TINY_KCL, "epochs": 1}, progress=False)
    return {"losses": losses, "step_losses": resumed.step_losses, "weights": _weights(resumed),
            "budget_losses": budget_losses, "random_view_weights": _weights(random_views)}


def test_two_processes_train_as_one_over_the_same_global_batch_and_resume_from_rank_zero(tmp_path):
    (tmp_path / "corpus.smi").write_text("\n".join(SMILES) + "\n")
    (tmp_path / "cwd").mkdir()
    ranks = run_in_processes(_two_process_runs, 2, tmp_path)
    one = KCL(_molecules(), _config(KCL, TINY_KCL))
    losses = fit(one, 2, progress=False)
    expected = _weights(one)
    assert len(one.step_losses) == 6  # 3 global batches per epoch, none skipped
    for out in ranks:
        assert out["step_losses"] == pytest.approx(one.step_losses, rel=1e-5)
        assert out["losses"] == pytest.approx(losses, rel=1e-5)
        for name, value in expected.items():
            assert np.allclose(out["weights"][name], value, rtol=1e-4, atol=1e-6), name
        assert len(out["budget_losses"]) == 1  # rank 0's clock stopped both after the same epoch
    for name, value in ranks[0]["random_view_weights"].items():  # DDP kept the replicas equal
        assert np.array_equal(ranks[1]["random_view_weights"][name], value), name
    assert (tmp_path / "rank0" / CHECKPOINT_NAME).exists()
    assert not (tmp_path / "rank1" / CHECKPOINT_NAME).exists()  # rank 0 alone writes checkpoints
    (run,) = (tmp_path / "cwd" / "runs").iterdir()  # one output folder for both processes
    assert sorted(f.name for f in run.iterdir()) == ["checkpoint.pt", "config.yaml", "metrics.json"]
    assert json.loads((run / "metrics.json").read_text())["processes"] == 2


def test_resumed_random_views_are_those_of_the_uninterrupted_run(tmp_path):
    full = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN))
    expected = fit(full, 2, progress=False)
    first = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN))
    fit(first, 1, tmp_path, progress=False)
    resumed = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN), initialise=False)
    assert fit(resumed, 2, tmp_path, load_checkpoint(tmp_path), progress=False) == pytest.approx(expected, rel=1e-5)


def test_the_global_batch_must_give_every_process_a_molecule(monkeypatch):
    monkeypatch.setattr(molecule_base, "world_size", lambda: 3)
    with pytest.raises(ValueError, match=r"'batch_size' >= the number of processes \(3\).*got 2"):
        GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN, batch_size=2))
    # 11 molecules in batches of 4: the last batch of 3 is kept on 3 processes, a last batch of 2 would not be
    method = GraphCLMol(_molecules()[:10], _config(GraphCLMol, TINY_GIN))
    assert [len(b) for b in method.batches()] == [4, 4]
