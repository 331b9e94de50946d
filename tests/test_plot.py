"""`graphcl plot RUN_DIR`: the loss curve and the 2-D map of a run's embeddings, as PNG files; the data of the map."""
import json

import numpy as np
import pytest
import yaml

from graphcl.cli import main
from graphcl.plot import embedding_map, subsample

image = pytest.importorskip("matplotlib.image")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "grace"
    assert main(["train", "grace", "--dataset", "synthetic", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    return out


def _png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    return pixels


def test_subsample_is_seeded_and_bounded():
    rows = subsample(1000, 50, seed=3)
    assert len(rows) == 50 and len(set(rows.tolist())) == 50 and np.all(np.diff(rows) > 0)
    assert rows.min() >= 0 and rows.max() < 1000
    assert np.array_equal(rows, subsample(1000, 50, seed=3))
    assert not np.array_equal(rows, subsample(1000, 50, seed=4))
    assert np.array_equal(subsample(30, 50), np.arange(30))  # small sets are shown whole
    with pytest.raises(ValueError, match="'max_points' to be at least 2 \\(got 1\\)"):
        subsample(10, 1)


def test_embedding_map_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 10
    blob = np.repeat(np.arange(3), 100)
    emb = centres[blob] + rng.normal(size=(300, 16))
    coords, rows = embedding_map(emb, max_points=120, seed=1)
    assert coords.shape == (120, 2) and np.array_equal(rows, subsample(300, 120, seed=1))
    again, _ = embedding_map(emb, max_points=120, seed=1)
    assert np.allclose(coords, again)
    # each point's nearest neighbour on the map comes from the same blob
    dist = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    assert (blob[rows][dist.argmin(1)] == blob[rows]).mean() > 0.95


def test_plot_writes_loss_and_embedding_pngs(run_dir, capsys):
    assert main(["plot", str(run_dir), "--max-points", "150"]) == 0
    out = capsys.readouterr().out
    for name in ("loss.png", "embeddings.png"):
        _png(run_dir / "plots" / name)
        assert f"wrote {run_dir / 'plots' / name}" in out
    assert "left out" not in out  # labels of the run's dataset and its clusters.npy were both found
    assert "tsne of 150 embedding rows" in out


def test_plot_without_loadable_labels_leaves_the_panel_out(run_dir, tmp_path, capsys):
    """A run whose dataset cannot be loaded any more still gets its map, coloured by k-means only, with a note."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("metrics.json", "embeddings.npy"):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["dataset"] = str(tmp_path / "gone.csv")
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["plot", str(copy), "--max-points", "100", "--clusters", "3", "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert "label panel left out: cannot load the run's dataset" in out and "gone.csv" in out
    _png(tmp_path / "figs" / "embeddings.png")
    assert not (copy / "plots").exists()


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "Run folder .* does not exist"),
    (lambda d: d.mkdir(), r".*metrics.json is missing: .* is not a finished graphcl train run"),
])
def test_plot_errors_are_one_line(tmp_path, capsys, setup, message):
    import re

    folder = tmp_path / "run"
    setup(folder)
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search("graphcl: error: " + message, err)


def test_plot_names_the_extra_when_matplotlib_is_missing(run_dir, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert main(["plot", str(run_dir)]) == 2
    assert "pip install 'graphcl[bench]'" in capsys.readouterr().err


def test_metrics_keep_the_loss_history(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["losses"]) == 3 and metrics["losses"][-1] == metrics["final_loss"]
