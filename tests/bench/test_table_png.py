"""The benchmarks' table PNGs: the shared bar chart (graphcl.bench.plots) and each benchmark's call of it."""

import numpy as np
import pytest

from graphcl.bench.plots import Bar, bar_chart_png, line_chart_png
from graphcl.data import csbm

image = pytest.importorskip("matplotlib.image")
# matplotlib's first two default colours: the bars of the first and of the second series
C0, C1 = np.array([0x1f, 0x77, 0xb4]) / 255, np.array([0xff, 0x7f, 0x0e]) / 255


def _png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return image.imread(path)[..., :3]


def _has_colour(pixels, colour):
    return bool((np.abs(pixels - colour).max(axis=-1) < 0.02).sum() > 50)


def test_bar_chart_draws_each_series(tmp_path):
    bars = [Bar("Cora", "grace", 81.2, 0.5), Bar("Cora", "csgcl", 83.0, 0.4), Bar("CiteSeer", "grace", 70.1, 1.0)]
    bar_chart_png(tmp_path / "t.png", bars, "test accuracy (%)", "a table")  # CiteSeer / csgcl is a gap
    pixels = _png(tmp_path / "t.png")
    assert _has_colour(pixels, C0) and _has_colour(pixels, C1)
    bar_chart_png(tmp_path / "one.png", bars[:1], "acc", "one series, no gap")
    assert not _has_colour(_png(tmp_path / "one.png"), C1)
    with pytest.raises(ValueError, match="at least one bar"):
        bar_chart_png(tmp_path / "none.png", [], "acc", "empty")
    assert not (tmp_path / "none.png").exists()


def test_line_chart(tmp_path):
    line_chart_png(tmp_path / "l.png", {"a": ([1, 2, 3], [3.0, 2.0, 1.5]), "b": ([1, 2], [2.0, 2.5])}, "epoch",
                   "loss", "two lines")
    pixels = _png(tmp_path / "l.png")
    assert _has_colour(pixels, C0) and _has_colour(pixels, C1)


def test_clustering_benchmark_writes_its_table_png(tmp_path):
    from graphcl.bench.clustering import run_benchmark

    data = csbm(num_nodes=60, num_blocks=3, num_features=8, p_in=0.3, p_out=0.01, signal=4.0, seed=1)
    run_benchmark(["Cora"], ["kmeans", "spectral"], [0, 1], out=tmp_path, graphs={"Cora": data}, log=None)
    pixels = _png(tmp_path / "clustering.png")
    assert _has_colour(pixels, C0) and _has_colour(pixels, C1)  # kmeans and spectral


def test_node_classification_benchmark_writes_its_table_png(tmp_path, load_benchmark):
    bench = load_benchmark("node_classification")
    out = tmp_path / "nc.md"
    assert bench.main(["--datasets", "synthetic", "--methods", "grace", "--seeds", "1", "--epochs", "1",
                       "--eval-splits", "1", "--output", str(out), "--runs", str(tmp_path / "runs")]) == 0
    assert "| synthetic | grace |" in out.read_text()
    assert _has_colour(_png(tmp_path / "nc.png"), C0)


def test_seqrec_benchmark_writes_its_table_png(tmp_path, load_benchmark, monkeypatch):
    bench = load_benchmark("seqrec")
    runs = [{"model": model, "seed": seed, "status": "fresh", "best_valid_score": 0.1, "epochs_run": 2,
             "train_time_s": 1.0, "history": [], "test": {m: score + seed / 100 for m in bench.METRICS}}
            for model, score in (("SASRec", 0.05), ("SASRecBackbone", 0.06)) for seed in (0, 1)]
    monkeypatch.setattr(bench, "run_all", lambda args, on_run=None: runs)  # no training: the report path only
    out = tmp_path / "seqrec.md"
    assert bench.main(["--models", "SASRec", "SASRecBackbone", "--output", str(out)]) == 0
    assert "| SASRecBackbone |" in out.read_text()
    pixels = _png(tmp_path / "seqrec.png")
    assert _has_colour(pixels, C0) and _has_colour(pixels, C1)


def test_molecule_benchmark_loss_png(tmp_path, load_benchmark):
    bench = load_benchmark("molecules")
    pretrained = {"kcl": {"epochs": 1, "step_losses": list(np.linspace(4, 2, 300))},
                  "graphcl-mol": {"epochs": 1, "step_losses": list(np.linspace(5, 3, 200))}}
    bench.plot(pretrained, str(tmp_path / "loss.png"))
    pixels = _png(tmp_path / "loss.png")
    assert _has_colour(pixels, C0) and _has_colour(pixels, C1)
    bench.plot({"kcl": {"epochs": 0, "step_losses": []}}, str(tmp_path / "empty.png"))
    assert not (tmp_path / "empty.png").exists()


def test_a_one_point_line_is_drawn_as_a_dot(tmp_path):
    line_chart_png(tmp_path / "dot.png", {"a": ([1, 2], [3.0, 2.0]), "b": ([1], [2.5])}, "k", "ndcg", "a dot")
    assert _has_colour(_png(tmp_path / "dot.png"), C1)  # the second line's colour: its marker


def test_lines_past_the_colour_cycle_change_style(tmp_path, monkeypatch):
    import graphcl.bench.plots as plots
    figures = []
    monkeypatch.setattr(plots, "write_png", lambda path, fig: figures.append(fig))
    lines = {f"m{i}": ([0, 1, 3], [i, i + 1.0, i + 0.5]) for i in range(12)}
    line_chart_png(tmp_path / "many.png", lines, "k", "ndcg", "twelve lines")
    drawn = figures[0].axes[0].get_lines()
    looks = {(line.get_color(), line.get_linestyle()) for line in drawn}
    assert len(drawn) == 12 and len(looks) == 12  # m10 shares m0's colour, not its style
    assert drawn[0].get_color() == drawn[10].get_color() and drawn[10].get_linestyle() == "--"
