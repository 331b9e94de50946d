import json
import os
from pathlib import Path

import numpy as np
import pytest

from graphcl.cli import main


def _train(tmp_path, *extra):
    return main(["train", "grace", "--dataset", "synthetic", "--epochs", "3", "--quiet", "--out", str(tmp_path),
                 *extra])


def test_train_writes_all_outputs(tmp_path, capsys):
    assert _train(tmp_path) == 0
    for name in ("config.yaml", "metrics.json", "embeddings.npy", "clusters.npy", "checkpoint.pt"):
        assert (tmp_path / name).exists(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    emb = np.load(tmp_path / "embeddings.npy")
    assert emb.dtype == np.float32 and emb.shape == (1200, 128)
    assert 0 <= metrics["linear_probe"]["accuracy_mean"] <= 1
    assert set(metrics["clustering"]) >= {"acc", "nmi", "ari", "f1", "modularity", "conductance"}
    assert "linear probe accuracy" in capsys.readouterr().out


def test_resume_extends_a_run(tmp_path):
    assert _train(tmp_path) == 0
    assert main(["train", "--resume", str(tmp_path), "--epochs", "5", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 5


def test_matmul_precision_is_saved_and_may_change_on_resume(tmp_path, capsys):
    import yaml

    assert _train(tmp_path, "--matmul-precision", "medium") == 0
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["matmul_precision"] == "medium"
    assert main(["train", "--resume", str(tmp_path), "--epochs", "4", "--matmul-precision", "highest",
                 "--quiet"]) == 0
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["matmul_precision"] == "highest"
    assert main(["train", "--resume", str(tmp_path), "--seed", "3", "--quiet"]) == 2
    assert "When resuming only ['epochs', 'matmul_precision'] may change (got ['seed'])" in capsys.readouterr().err


def test_resume_fills_keys_added_after_the_run_was_saved(tmp_path):
    import yaml

    from graphcl.methods import get_method

    assert _train(tmp_path) == 0
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    for key in ("matmul_precision", "eval_epochs", "normalize_features"):  # keys that later versions added
        del saved[key]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    assert main(["train", "--resume", str(tmp_path), "--epochs", "4", "--quiet"]) == 0
    resumed = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert resumed["matmul_precision"] == "highest" and resumed["eval_epochs"] == 300
    assert resumed["normalize_features"] is get_method("grace").defaults["normalize_features"] is False
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 4


@pytest.mark.parametrize("argv, message", [
    (["train", "nomethod", "--dataset", "synthetic"], "Unknown method 'nomethod'. Valid methods: .*grace"),
    (["train", "grace", "--dataset", "nodata"], "Unknown dataset 'nodata'. Valid datasets: .*Cora"),
    (["train", "grace", "--dataset", "synthetic", "--preset", "nopreset"],
     "Unknown preset 'nopreset' for method 'grace'. Valid presets: Cora"),
    (["train", "--resume", "/nonexistent/run"], "config.yaml is missing"),
])
def test_bad_input_gets_a_clear_error(argv, message, capsys):
    assert main(argv + ["--quiet"]) == 2
    import re
    assert re.search(message, capsys.readouterr().err)


def test_unknown_config_key_lists_valid_keys(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("learning_rate: 0.1\n")
    assert main(["train", "grace", "--dataset", "synthetic", "--config", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Unknown config key(s) ['learning_rate']" in err and "lr" in err


def test_missing_data_names_the_path(tmp_path, capsys):
    assert main(["train", "grace", "--dataset", "Cora", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "Cora") in err and "ind.cora.x" in err


def test_list_shows_methods_datasets_presets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "grace" in out and "Cora" in out and "synthetic" in out and "CiteSeer" in out


# --- issue 23: output folders, resume metadata, errors as one line with nothing written -------------------------

FAST = ["--epochs", "3", "--quiet"]


def _fast_config(tmp_path):
    cfg = tmp_path / "fast.yaml"
    cfg.write_text("eval_splits: 1\neval_epochs: 20\n")
    return cfg


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else None


def _one_line_error(capsys, pattern):
    import re

    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert re.search(pattern, err), err
    return err


def test_nonempty_out_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    before = _snapshot(out)
    assert _train(out, "--seed", "5") == 2
    _one_line_error(capsys, r"exists and is not empty: .*--overwrite")
    assert _snapshot(out) == before
    assert _train(out, "--seed", "5", "--overwrite") == 0
    import yaml
    assert yaml.safe_load((out / "config.yaml").read_text())["seed"] == 5


def test_default_out_folders_are_unique(tmp_path, monkeypatch):
    from graphcl.runner import default_out_dir

    monkeypatch.chdir(tmp_path)
    folders = {default_out_dir("grace", "synthetic") for _ in range(3)}  # within one second
    assert len(folders) == 3 and all(str(os.getpid()) in f.name for f in folders)
    assert default_out_dir("grace", "/data/my graph.csv").name.startswith("grace-my graph-")


def test_resume_uses_the_saved_root(tmp_path, monkeypatch):
    import shutil

    import yaml

    from graphcl.data import data_root, dataset_available

    if not dataset_available("bat"):
        pytest.skip("bat not under the data root")
    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "mydata"
    shutil.copytree(data_root() / "clustering" / "bat", root / "clustering" / "bat")
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "bat", "--root", str(root), "--config", str(_fast_config(tmp_path)),
                 "--out", str(out), *FAST]) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["root"] == str(root.resolve())
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "elsewhere"))  # the default root no longer has bat
    assert main(["train", "--resume", str(out), "--epochs", "4", "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 4
    assert not (tmp_path / "elsewhere").exists()


def test_resume_refuses_fewer_epochs_than_trained(tmp_path, capsys):
    assert _train(tmp_path) == 0
    before = _snapshot(tmp_path)
    assert main(["train", "--resume", str(tmp_path), "--epochs", "2", "--quiet"]) == 2
    _one_line_error(capsys, r"trained 3 epochs already; --epochs 2 would relabel it")
    assert _snapshot(tmp_path) == before


def test_resumed_seconds_count_every_segment(tmp_path):
    import torch

    assert _train(tmp_path) == 0
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert 0 < ckpt["train_seconds"] <= json.loads((tmp_path / "metrics.json").read_text())["train_seconds"]
    ckpt["train_seconds"] = 1000.0  # as if the first segment had taken 1000 s
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    assert main(["train", "--resume", str(tmp_path), "--epochs", "4", "--quiet"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["train_seconds"] > 1000.0


def test_resume_without_checkpoint_is_an_error(tmp_path, capsys):
    assert _train(tmp_path) == 0
    (tmp_path / "checkpoint.pt").unlink()
    before = _snapshot(tmp_path)
    assert main(["train", "--resume", str(tmp_path), "--epochs", "5", "--quiet"]) == 2
    _one_line_error(capsys, r"checkpoint.pt is missing")
    assert _snapshot(tmp_path) == before


def test_resume_as_another_method_is_an_error(tmp_path, capsys):
    assert _train(tmp_path) == 0
    before = _snapshot(tmp_path)
    assert main(["train", "csgcl", "--resume", str(tmp_path), "--epochs", "5", "--quiet"]) == 2
    _one_line_error(capsys, r"is a grace run: cannot resume it as csgcl")
    assert _snapshot(tmp_path) == before


def test_truncated_or_foreign_checkpoint_is_an_error(tmp_path, capsys):
    import torch

    assert _train(tmp_path) == 0
    good = (tmp_path / "checkpoint.pt").read_bytes()
    for content in (good[: len(good) // 2], None):
        if content is None:
            torch.save({"state_dict": {}}, tmp_path / "checkpoint.pt")  # someone else's checkpoint
        else:
            (tmp_path / "checkpoint.pt").write_bytes(content)
        before = _snapshot(tmp_path)
        assert main(["train", "--resume", str(tmp_path), "--epochs", "5", "--quiet"]) == 2
        _one_line_error(capsys, r"checkpoint.pt is not a (readable|graphcl) checkpoint")
        assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("extra, pattern", [
    (["--threads", "0"], r"--threads must be >= 1 \(got 0\)"),
    (["--epochs", "0"], r"'epochs' must be >= 1 \(got 0\)"),
    (["--device", "cuda"], r"CUDA is not available"),
    (["--device", "tpu9"], r"Unknown device 'tpu9'"),
])
def test_bad_options_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, extra, pattern):
    if extra[:2] == ["--device", "cuda"]:
        import torch
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "synthetic", "--quiet", "--out", str(out), *extra]) == 2
    _one_line_error(capsys, pattern)
    assert not out.exists()


def test_broken_yaml_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("epochs: [1, 2\nlr: 0.1\n")
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "synthetic", "--config", str(cfg), "--out", str(out), *FAST]) == 2
    _one_line_error(capsys, r"--config .*bad.yaml is not valid YAML \(.* at line \d+, column \d+\)")
    assert not out.exists()


def test_unwritable_out_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    for out, pattern in ((a_file, r"exists and is a file"), (a_file / "sub", r"Cannot write to output folder"),
                         (Path("/sys/graphcl-test-run"), r"Cannot write to output folder")):
        assert main(["train", "grace", "--dataset", "synthetic", "--out", str(out), *FAST]) == 2
        _one_line_error(capsys, pattern)
    assert a_file.read_text() == "keep"
    if os.geteuid() != 0:  # root writes into read-only folders
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        assert main(["train", "grace", "--dataset", "synthetic", "--out", str(ro / "run"), *FAST]) == 2
        _one_line_error(capsys, r"Cannot write to output folder")


def test_edgeless_graph_gives_valid_json(tmp_path):
    """A graph whose evaluation yields NaN (no edges: modularity, conductance) must still give strict JSON."""
    import torch
    from torch_geometric.data import Data

    from graphcl.runner import evaluate_embeddings
    from graphcl.train import write_json

    data = Data(x=torch.randn(6, 3), y=torch.tensor([0, 1, 0, 1, 0, 1]), edge_index=torch.empty(2, 0).long())
    config = {"eval_splits": 1, "eval_seed": 0, "eval_epochs": 5}
    metrics, _ = evaluate_embeddings(torch.randn(6, 4), data, config)
    write_json(tmp_path / "metrics.json", metrics)
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


# --- issue 23: the loss history, the NaN-loss message -----------------------------------------------------------

def test_metrics_keep_the_loss_history_of_every_segment(tmp_path):
    assert _train(tmp_path) == 0
    first = json.loads((tmp_path / "metrics.json").read_text())["losses"]
    assert len(first) == 3 and all(isinstance(v, float) for v in first)
    assert main(["train", "--resume", str(tmp_path), "--epochs", "5", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["losses"]) == 5 and metrics["losses"][:3] == first
    assert metrics["losses"][-1] == metrics["final_loss"]


def test_diverging_loss_is_one_line_naming_lr(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: 1.0e+30\n")
    assert main(["train", "grace", "--dataset", "synthetic", "--config", str(cfg), "--out", str(tmp_path / "run"),
                 *FAST]) == 1
    err = _one_line_error(capsys, r"graphcl: error: grace: the loss became NaN or infinite at epoch 2; lower 'lr' "
                                  r"\(now 1e\+30\)$")
    assert "temperature" not in err  # not a key of GRACE


@pytest.mark.parametrize("source", ["name", "file"])
def test_nonfinite_features_are_rejected_before_training(tmp_path, capsys, monkeypatch, source):
    """Registry datasets and graph files with NaN features stop before training, naming the input: the NaN-loss
    message is never reached from the command line."""
    import torch

    from graphcl.data import csbm, loaders

    data = csbm(num_nodes=60, num_blocks=3, num_features=8, seed=1)
    data.x[5, 2] = float("nan")
    if source == "name":
        monkeypatch.setattr(loaders, "csbm", lambda **kwargs: data)
        dataset = "synthetic"
    else:
        dataset = str(tmp_path / "g.pt")
        torch.save(data, dataset)
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", dataset, "--out", str(out), *FAST]) == 2
    _one_line_error(capsys, r"(synthetic|g\.pt): node features contain NaN or infinite values in 1 rows")
    assert not out.exists()


def test_pot_flag_switches_pot_on_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "synthetic", "--epochs", "2", "--pot", "--quiet", "--out", str(out),
                 "--config", str(_fast_config(tmp_path))]) == 0
    import yaml
    assert yaml.safe_load((out / "config.yaml").read_text())["pot"] is True
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    assert main(["train", "pamc", "--dataset", "synthetic", "--pot", "--quiet", "--out", str(tmp_path / "p")]) == 2
    _one_line_error(capsys, r"Unknown config key\(s\) \['pot'\]")


def test_batch_size_and_num_neighbors_flags_select_minibatch_training(tmp_path, capsys):
    import yaml
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "synthetic", "--epochs", "1", "--batch-size", "64",
                 "--num-neighbors", "5", "-1", "--quiet", "--out", str(out),
                 "--config", str(_fast_config(tmp_path))]) == 0
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["batch_size"] == 64 and saved["num_neighbors"] == [5, -1]
    assert main(["train", "--resume", str(out), "--epochs", "2", "--batch-size", "32", "--quiet"]) == 2
    _one_line_error(capsys, r"only \['epochs', 'matmul_precision'\] may change \(got \['batch_size', 'epochs'\]\)")
    assert main(["train", "grace", "--dataset", "synthetic", "--num-neighbors", "5", "--batch-size", "64",
                 "--quiet", "--out", str(tmp_path / "bad"), "--config", str(_fast_config(tmp_path))]) == 2
    _one_line_error(capsys, r"'num_neighbors' to give one fan-out per encoder layer")
