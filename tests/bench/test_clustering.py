import csv
import math

import pytest
import torch

from graphcl.bench.clustering import (PUBLISHED, ClusteringResult, dense_fits, main, run_benchmark,
                                      score_clustering, summarise)
from graphcl.data import csbm

# ----------------------------------------------------------- metrics, hand-computed


def test_metrics_permuted_perfect_clustering():
    m = score_clustering([0, 0, 1, 1, 2, 2], [1, 1, 2, 2, 0, 0])
    for key in ("acc", "nmi", "ari", "f1"):
        assert m[key] == pytest.approx(1.0)


def test_metrics_fewer_clusters_than_classes():
    labels, pred = [0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1]
    m = score_clustering(labels, pred)
    assert m["acc"] == pytest.approx(4 / 6)  # cluster 0 can take only one of classes 0 and 1
    # matched class: P = 2/4, R = 1 -> F1 2/3; unmatched class: 0; class 2: 1
    assert m["f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    h_c = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))  # C is a function of Y: I(Y; C) = H(C)
    assert m["nmi"] == pytest.approx(2 * h_c / (math.log(3) + h_c))
    # ARI from pair counts: sum C(n_ij, 2) = 3, rows 7, columns 3, C(6, 2) = 15
    assert m["ari"] == pytest.approx((3 - 7 * 3 / 15) / ((7 + 3) / 2 - 7 * 3 / 15))


def test_metrics_single_cluster():
    m = score_clustering([0, 0, 0, 1, 2, 2], [5, 5, 5, 5, 5, 5])
    assert m["acc"] == pytest.approx(3 / 6)
    assert m["nmi"] == pytest.approx(0.0, abs=1e-12) and m["ari"] == pytest.approx(0.0, abs=1e-12)


def test_modularity_and_conductance_two_triangles():
    # triangles 0-1-2 and 3-4-5 joined by the edge 2-3; |E| = 7, each side E_in = 3, volume 7
    edges = torch.tensor([[0, 0, 1, 3, 3, 4, 2], [1, 2, 2, 4, 5, 5, 3]])
    m = score_clustering([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1], edges, 6)
    assert m["modularity"] == pytest.approx(2 * (3 / 7 - (7 / 14) ** 2))
    assert m["conductance"] == pytest.approx(2 / 14)  # the bridge's two endpoints over the total volume


# ----------------------------------------------------------- aggregation and report


def test_summarise_mean_and_sample_std():
    runs = [ClusteringResult("d", "m", s, {"acc": a, "nmi": 0.5}, 1.0 + s) for s, a in enumerate([0.2, 0.4, 0.9])]
    (row,) = summarise(runs)
    assert row["acc_mean"] == pytest.approx(0.5)
    assert row["acc_std"] == pytest.approx(math.sqrt(((0.3) ** 2 + 0.1 ** 2 + 0.4 ** 2) / 2))
    assert row["nmi_std"] == 0.0 and row["n"] == 3 and row["seeds"] == "0 1 2"
    assert row["seconds_mean"] == pytest.approx(2.0)


def test_dense_fits_uses_memory_budget():
    assert dense_fits(1000, memory=1 << 30)
    assert not dense_fits(100_000, memory=24 << 30)


def test_run_benchmark_on_given_graph_reports_published(tmp_path):
    data = csbm(num_nodes=60, num_blocks=3, num_features=8, p_in=0.3, p_out=0.01, signal=4.0, seed=1)
    results, skipped = run_benchmark(["Cora"], ["kmeans", "spectral"], [0, 1], out=tmp_path, graphs={"Cora": data},
                                     log=None)
    assert [(r.method, r.seed) for r in results] == [("kmeans", 0), ("kmeans", 1), ("spectral", 0), ("spectral", 1)]
    assert all(r.metrics["acc"] > 0.9 for r in results)  # well-separated blocks
    md = (tmp_path / "clustering.md").read_text()
    who, vals = PUBLISHED["Cora"]
    assert f"best published ({who})" in md and f"{vals['acc']:.2f}" in md
    assert "- seeds: 0 1" in md and "- machine:" in md
    with pytest.raises(ValueError, match="Unknown method"):
        run_benchmark(["Cora"], ["kmeans", "louvain"], [0], graphs={"Cora": data}, log=None)


def test_interrupted_benchmark_keeps_finished_runs(tmp_path, monkeypatch):
    from graphcl.bench import clustering as bench
    data = csbm(num_nodes=60, num_blocks=3, num_features=8, p_in=0.3, p_out=0.01, signal=4.0, seed=1)
    kmeans_run = bench._runner("kmeans")
    calls = []

    def stopped_at_third(graph, ctx, seed):
        calls.append(seed)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return kmeans_run(graph, ctx, seed)

    monkeypatch.setattr(bench, "_runner", lambda method: stopped_at_third)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(["Cora"], ["kmeans"], [0, 1, 2], out=tmp_path, graphs={"Cora": data}, log=None)
    runs = (tmp_path / "clustering_runs.csv").read_text()
    assert runs.count("\nCora,kmeans,") == 2  # seeds 0 and 1 were written before the interruption
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["clustering.csv", "clustering.md", "clustering_runs.csv"]


def test_smoke_run_on_synthetic(tmp_path):
    threads = torch.get_num_threads()
    try:
        assert main(["--smoke", "--out", str(tmp_path), "--quiet", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    md = (tmp_path / "clustering.md").read_text()
    assert "## synthetic" in md and "--smoke" in md
    rows = list(csv.DictReader(line for line in (tmp_path / "clustering.csv").read_text().splitlines()
                               if not line.startswith("#")))
    methods = {r["method"] for r in rows}
    assert {"kmeans", "spectral", "grace", "pamc-hard", "pamc-soft", "dense"} <= methods
    assert all(r["dataset"] == "synthetic" and r["n"] == "2" for r in rows)
    for r in rows:
        assert 0.0 <= float(r["acc_mean"]) <= 1.0 and float(r["acc_std"]) >= 0.0
    by = {r["method"]: r for r in rows}
    assert "normalize_embeddings False" in by["pamc-soft"]["note"] and "normalize" not in by["pamc-hard"]["note"]
    assert float(by["kmeans"]["acc_mean"]) > 0.5  # the planted blocks are recoverable from the features
    runs = (tmp_path / "clustering_runs.csv").read_text()
    assert runs.count("\nsynthetic,") == 2 * len(rows)
