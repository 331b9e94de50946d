"""`python -m graphcl` and `torchrun --nproc_per_node 2 -m graphcl pretrain --resume`: a run started in one process
continues on two (Gloo) as it would have in one, rank 0 alone printing and writing; embed and finetune refuse a
torchrun launch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from graphcl.cli import main

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCCO", "c1ccncc1", "CCCl", "CC(C)O", "C1CCCCC1", "CS(=O)C", "CCCCO"]
TINY_KCL = {"original_encoder": {"mode": "gcn", "hidden_channels": 8, "num_layers": 2, "readout": "sum_max",
                                 "residual": True, "atom_columns": [0]},
            "augmented_encoder": {"hidden_channels": 8, "edge_channels": 4, "edge_hidden_channels": 8,
                                  "num_steps": 2, "readout": "set2set", "atom_columns": [0]},
            "kg_embedding_dim": 8, "kg_embedding_epochs": 2, "batch_size": 4}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def test_python_dash_m_graphcl_is_the_command_line():
    done = subprocess.run([sys.executable, "-m", "graphcl", "list"], capture_output=True, text=True, timeout=120,
                          env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("methods:") and "kcl" in done.stdout


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not beside this Python")
def test_torchrun_resumes_a_one_process_run_on_two_processes_as_one_process_would(tmp_path):
    smi = tmp_path / "corpus.smi"
    smi.write_text("\n".join(SMILES) + "\n")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY_KCL))
    common = ["pretrain", "kcl", "--smiles", str(smi), "--config", str(cfg), "--quiet"]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--epochs", "1", "--out", str(tmp_path / "run")]) == 0

    done = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "graphcl", "pretrain",
                           "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("outputs:") == 1  # rank 0 prints
    resumed = json.loads((tmp_path / "run" / "metrics.json").read_text())
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert resumed["processes"] == 2 and resumed["epochs"] == 2
    assert resumed["step_losses"] == pytest.approx(one["step_losses"], rel=1e-5)
    assert resumed["losses"] == pytest.approx(one["losses"], rel=1e-5)


@pytest.mark.parametrize("command", [["embed", "RUN", "--smiles", "x.smi", "--out", "e.npy"],
                                     ["finetune", "RUN", "--dataset", "bbbp"]])
def test_embed_and_finetune_refuse_a_torchrun_launch(monkeypatch, capsys, command):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(command) == 2
    assert f"graphcl: error: {command[0]} runs in one process (WORLD_SIZE=2): launch it without torchrun" in \
        capsys.readouterr().err
