"""`graphcl pretrain | embed | finetune` end to end on tiny files: outputs, invalid rows, resume, errors."""
import json

import numpy as np
import pytest
import yaml

from graphcl.cli import main
from graphcl.molecules import InvalidSmilesWarning

SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "not_a_smiles", "CCN", "OCCO", "c1ccncc1", "CCCl", "CC(C)O", "C1CCCCC1",
          "CS(=O)C", "CCOC(=O)C", "c1ccc2ccccc2c1", "CC(N)C(=O)O", "O=C(O)c1ccccc1", "CCCCO"]
TINY = {"encoder": {"mode": "gin", "hidden_channels": 8, "num_layers": 2, "readout": "mean", "residual": False},
        "projection_channels": 4, "batch_size": 4}


@pytest.fixture
def files(tmp_path):
    smi = tmp_path / "corpus.smi"
    smi.write_text("\n".join(SMILES) + "\n")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    rng = np.random.default_rng(0)
    rows = ["smiles,active,logp"] + [f"{s},{int(rng.integers(2)) if i % 5 else ''},{rng.normal():.3f}"
                                     for i, s in enumerate(SMILES * 4)]
    csv = tmp_path / "props.csv"
    csv.write_text("\n".join(rows) + "\n")
    return tmp_path, smi, cfg, csv


@pytest.mark.filterwarnings("ignore::graphcl.molecules.InvalidSmilesWarning")
def test_pretrain_embed_finetune(files):
    tmp, smi, cfg, csv = files
    run = tmp / "run"
    with pytest.warns(InvalidSmilesWarning, match="row 3"):  # the invalid row is reported with its number
        assert main(["pretrain", "graphcl-mol", "--smiles", str(smi), "--config", str(cfg), "--epochs", "1",
                     "--out", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["corpus"]["invalid"] == 1 and metrics["corpus"]["invalid_rows"][0][0] == 3
    assert metrics["epochs"] == 1 and (run / "checkpoint.pt").exists()

    # resume: one more epoch, the first epoch's loss kept
    assert main(["pretrain", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["epochs"] == 2 and resumed["losses"][0] == metrics["losses"][0]

    emb_path = tmp / "emb.npy"
    assert main(["embed", str(run), "--smiles", str(smi), "--out", str(emb_path)]) == 0
    emb = np.load(emb_path)
    assert emb.shape == (len(SMILES), 8)
    assert np.isnan(emb[3]).all() and np.isfinite(np.delete(emb, 3, axis=0)).all()
    assert json.loads((tmp / "emb.invalid.json").read_text()) == [{"row": 3, "smiles": "not_a_smiles"}]

    out = tmp / "ft"
    assert main(["finetune", str(run), "--dataset", str(csv), "--label-columns", "active", "--split", "random",
                 "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    ft = json.loads((out / "metrics.json").read_text())
    assert ft["task_type"] == "classification" and ft["num_tasks"] == 1
    for protocol in ("finetune", "linear"):
        assert ft[protocol]["test"]["metric"] == "roc_auc"
        assert set(ft[protocol]) >= {"validation", "test"}
    assert sum(ft["split_sizes"]) == ft["molecules"]


def test_finetune_without_pretraining_regression(files):
    tmp, _, _, csv = files
    out = tmp / "none"
    assert main(["finetune", "none", "--encoder", "gin", "--dataset", str(csv), "--label-columns", "logp",
                 "--protocol", "finetune", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    ft = json.loads((out / "metrics.json").read_text())
    assert ft["task_type"] == "regression" and ft["finetune"]["test"]["metric"] == "rmse"
    assert ft["pretrained"] is None


@pytest.mark.filterwarnings("ignore::graphcl.molecules.InvalidSmilesWarning")
def test_errors_are_one_line(files, capsys):
    tmp, smi, cfg, _ = files
    bad = tmp / "bad.smi"
    bad.write_text("xx\nyy\n")
    assert main(["pretrain", "kcl", "--smiles", str(bad), "--out", str(tmp / "r")]) == 2
    assert "None of the 2 SMILES" in capsys.readouterr().err
    assert main(["pretrain", "nope", "--smiles", str(smi)]) == 2
    assert "Unknown pretraining method" in capsys.readouterr().err
    (tmp / "full").mkdir()
    (tmp / "full" / "x").write_text("x")
    assert main(["pretrain", "graphcl-mol", "--smiles", str(smi), "--out", str(tmp / "full")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["finetune", "none", "--dataset", "bbbp"]) == 2
    assert "--encoder" in capsys.readouterr().err


def test_kg_statistics_beside_the_reference(capsys, tmp_path):
    assert main(["kg"]) == 0
    out = capsys.readouterr().out
    assert "entities" in out and "1643" in out  # the reference file's line count beside ours
    assert main(["kg", "--root", str(tmp_path)]) == 2
    assert "elementkg/triples.txt" in capsys.readouterr().err


def test_a_gin_run_without_bond_embeddings_names_the_config_key(files):
    from graphcl.molecule_runner import load_pretrained, pretrain
    tmp, smi, _, _ = files
    run = tmp / "atoms_only"
    config = tmp / "atoms_only.yaml"
    config.write_text(yaml.safe_dump({**TINY, "encoder": {**TINY["encoder"], "bond_features": False}}))
    pretrain("graphcl-mol", smi, config_file=config, overrides={"epochs": 1}, out=run, progress=False)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert load_pretrained(run).model["encoder"].bond_encoder is None
    del saved["encoder"]["bond_features"]  # a config.yaml written before the key existed: the default is true
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ValueError, match="has no bond embeddings: set 'bond_features: false' in the encoder"):
        load_pretrained(run)
