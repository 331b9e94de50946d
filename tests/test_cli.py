import json

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
