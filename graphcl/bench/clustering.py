"""Graph clustering benchmark: several methods side by side, metrics as mean and std over seeds.

    graphcl bench clustering [--datasets Cora CiteSeer ...] [--methods kmeans spectral grace ...]
                             [--seeds 10 | --seed-list 0,1,2] [--epochs N] [--pretrain-epochs N]
                             [--out DIR] [--root DIR] [--threads N] [--smoke] [--quiet]
    python benchmarks/clustering.py ...   (the same)

Methods (``--methods``, default all): ``kmeans`` (k-means on the raw features), ``spectral`` (scikit-learn
SpectralClustering, ``affinity='precomputed'`` on the sparse symmetric adjacency), ``grace`` (GRACE, then k-means
on its embeddings), ``csgcl`` (CSGCL + k-means, when ``graphcl.methods.csgcl`` imports), ``ggd`` (GGD + k-means),
``pamc-hard`` and ``pamc-soft`` (PamC with hard / soft meta-nodes, argmax Q; the soft one on un-normalised
embeddings), ``dense`` (the same clustering model
with the dense N x N influence-augmented contrastive loss PamC approximates; skipped where it would not fit in memory).
Every trained method uses its preset for the dataset (when it has one) and reports its final epoch.

Metrics (ACC with Hungarian matching, NMI, ARI, macro-F1, modularity, conductance) come from
:func:`graphcl.eval.clustering_metrics`; the best published numbers (``reference/graph.md``) are printed beside ours.
Outputs, written atomically after every finished run: ``clustering.md``, ``clustering.csv`` (mean/std per dataset and
method) and ``clustering_runs.csv`` (one row per seed); at the end ``clustering.png``, the ACC table as a bar chart
(needs matplotlib, the ``bench`` extra).
"""
from __future__ import annotations

import argparse
import csv
import importlib
import io
import os
import shlex
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from ..data import dataset_available, dataset_names, load_graph
from ..eval import clustering_metrics, kmeans
from ..methods import METHODS, get_method, resolve_config
from ..train import fit, flush_denormals_process_wide, machine_description, write_text
from .plots import Bar, bar_chart_png, require_matplotlib

__all__ = ["BENCH_METHODS", "DEFAULT_DATASETS", "METRICS", "PUBLISHED", "ClusteringResult", "run_benchmark",
           "score_clustering", "summarise", "render_markdown", "table_png", "main"]

METRICS = ("acc", "nmi", "ari", "f1", "modularity", "conductance")

#: Method names accepted by ``--methods``, in table order.
BENCH_METHODS = ("kmeans", "spectral", "grace", "csgcl", "ggd", "pamc-hard", "pamc-soft", "dense")

#: Datasets of the full benchmark (those whose files are absent are reported as skipped). The ADGC copies
#: ``cora-adgc`` and ``citeseer-adgc`` run by name only: they equal Planetoid Cora and CiteSeer node for node.
DEFAULT_DATASETS = ("Cora", "CiteSeer", "PubMed", "Photo", "Computers", "CS", "acm", "dblp", "bat", "eat", "uat")

#: Best published numbers (ACC / NMI / ARI / F1, %, ~10-run means), from reference/graph.md.
PUBLISHED: dict[str, tuple[str, dict[str, float]]] = {
    "Cora": ("Dink-Net", {"acc": 78.10, "nmi": 62.28, "ari": 61.61, "f1": 72.66}),
    "CiteSeer": ("HSAN", {"acc": 71.15, "nmi": 45.06, "ari": 47.05, "f1": 63.01}),
    "Photo": ("Dink-Net", {"acc": 81.71, "nmi": 74.36, "ari": 68.40, "f1": 73.92}),
    "PubMed": ("DCRN", {"acc": 69.87, "nmi": 32.20, "ari": 31.41, "f1": 68.94}),
    "acm": ("DCRN", {"acc": 91.93, "nmi": 71.56, "ari": 77.56, "f1": 91.94}),
    "dblp": ("DCRN", {"acc": 79.66, "nmi": 48.95, "ari": 53.60, "f1": 79.28}),
}
PUBLISHED["cora-adgc"] = PUBLISHED["Cora"]
PUBLISHED["citeseer-adgc"] = PUBLISHED["CiteSeer"]

# Presets are named after the registry's dataset names; the ADGC copies of Cora/CiteSeer share them.
_PRESET_ALIASES = {"cora-adgc": "Cora", "citeseer-adgc": "CiteSeer"}

#: PamC's variants: the contrast, and for the soft meta-nodes the un-normalised embeddings (on unit-norm rows the
#: Student-t assignment is nearly uniform and the soft variant collapses: docs/pamc.md).
_PAMC_VARIANTS: dict[str, dict[str, Any]] = {"pamc-hard": {"contrast": "hard"},
                                             "pamc-soft": {"contrast": "soft", "normalize_embeddings": False},
                                             "dense": {"contrast": "dense"}}
_TRAINED = {"grace": "grace", "csgcl": "csgcl", "ggd": "ggd", "pamc-hard": "pamc", "pamc-soft": "pamc",
            "dense": "pamc"}
# --smoke: a 400-node synthetic graph, a few epochs, PamC with narrower hidden layers (tests the pipeline only)
_SMOKE_OVERRIDES = {"grace": {"epochs": 3}, "csgcl": {"epochs": 3}, "ggd": {"epochs": 3, "num_hidden": 64},
                    "pamc": {"epochs": 3, "pretrain_epochs": 1, "kmeans_n_init": 2, "hidden": [64, 64, 128]}}
_SMOKE_SYNTHETIC = {"num_nodes": 400, "p_in": 0.08, "p_out": 0.004, "signal": 3.0}


@dataclass
class ClusteringResult:
    """One (dataset, method, seed) run: its metrics, wall time, and a note (e.g. the preset used)."""

    dataset: str
    method: str
    seed: int
    metrics: dict[str, float]
    seconds: float
    note: str = ""


@dataclass
class _Context:
    dataset: str
    num_clusters: int
    epochs: int | None = None
    pretrain_epochs: int | None = None
    smoke: bool = False
    notes: dict[str, str] = field(default_factory=dict)


def score_clustering(labels, pred, edge_index=None, num_nodes: int | None = None) -> dict[str, float]:
    """The benchmark's metrics of one clustering (``graphcl.eval.clustering_metrics``)."""
    return clustering_metrics(labels, pred, edge_index, num_nodes)


def _adjacency(data: Data) -> sp.csr_matrix:
    ei = data.edge_index.cpu().numpy()
    n = data.num_nodes
    adj = sp.coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def _run_kmeans(data: Data, ctx: _Context, seed: int) -> np.ndarray:
    return kmeans(data.x.float(), ctx.num_clusters, seed=seed)


def _run_spectral(data: Data, ctx: _Context, seed: int) -> np.ndarray:
    from sklearn.cluster import SpectralClustering
    with warnings.catch_warnings():  # "Graph is not fully connected" on graphs with isolated parts (Cora, ...)
        warnings.simplefilter("ignore", UserWarning)
        model = SpectralClustering(ctx.num_clusters, affinity="precomputed", random_state=seed, n_init=10)
        return model.fit_predict(_adjacency(data))


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def dense_fits(num_nodes: int, memory: int | None = None) -> bool:
    """Whether the dense N x N loss fits: about 8 float32 N x N buffers (forward and backward) within 40% of RAM."""
    memory = _physical_memory() if memory is None else memory
    return 8 * 4 * num_nodes ** 2 <= 0.4 * memory


def _method_missing(method: str) -> str | None:
    """None when the method can run here, else the reason it cannot."""
    name = _TRAINED.get(method)
    if name is None or name in METHODS:
        return None
    try:
        importlib.import_module(f"graphcl.methods.{name}")
    except ImportError as err:
        return f"graphcl.methods.{name} does not import ({err})"
    return None if name in METHODS else f"method '{name}' is not registered"


def _run_trained(method: str) -> Callable[[Data, _Context, int], np.ndarray]:
    name = _TRAINED[method]

    def runner(data: Data, ctx: _Context, seed: int) -> np.ndarray:
        cls = get_method(name)
        preset_name = _PRESET_ALIASES.get(ctx.dataset, ctx.dataset)
        preset = preset_name if preset_name in cls.presets else None
        overrides: dict[str, Any] = {"seed": seed}
        if ctx.smoke:
            overrides.update(_SMOKE_OVERRIDES.get(name, {"epochs": 3}))
        if ctx.epochs is not None:
            overrides["epochs"] = ctx.epochs
        if name == "pamc":
            overrides.update(_PAMC_VARIANTS[method])
            if ctx.pretrain_epochs is not None:
                overrides["pretrain_epochs"] = ctx.pretrain_epochs
        config = resolve_config(cls, ctx.dataset, preset=preset, overrides=overrides)
        variant = "".join(f", {k} {v}" for k, v in _PAMC_VARIANTS.get(method, {}).items() if k != "contrast")
        ctx.notes[method] = f"preset {preset or '-'}, {config['epochs']} epochs{variant}"
        model = cls(data, config)
        fit(model, int(config["epochs"]), progress=False)
        clusters = model.predict_clusters()
        if clusters is not None:
            return np.asarray(clusters.cpu() if hasattr(clusters, "cpu") else clusters)
        return kmeans(model.embed().float(), ctx.num_clusters, seed=seed)

    return runner


def _runner(method: str) -> Callable[[Data, _Context, int], np.ndarray]:
    if method == "kmeans":
        return _run_kmeans
    if method == "spectral":
        return _run_spectral
    return _run_trained(method)


def summarise(results: Sequence[ClusteringResult]) -> list[dict[str, Any]]:
    """Mean and (sample) std of every metric and of the wall time, per (dataset, method), in first-seen order."""
    groups: dict[tuple[str, str], list[ClusteringResult]] = {}
    for r in results:
        groups.setdefault((r.dataset, r.method), []).append(r)
    rows = []
    for (ds, method), runs in groups.items():
        row: dict[str, Any] = {"dataset": ds, "method": method, "seeds": " ".join(str(r.seed) for r in runs),
                               "n": len(runs)}
        for key in METRICS:
            vals = [r.metrics[key] for r in runs if key in r.metrics]
            if vals:
                row[f"{key}_mean"] = statistics.fmean(vals)
                row[f"{key}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        row["seconds_mean"] = statistics.fmean(r.seconds for r in runs)
        row["note"] = runs[0].note
        rows.append(row)
    return rows


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def render_markdown(summary: Sequence[dict[str, Any]], header: dict[str, str], skipped: Sequence[str],
                    sizes: dict[str, str]) -> str:
    """The Markdown report: header lines, then one table per dataset (ours in %, mean +- std; published best)."""
    lines = ["# Graph clustering benchmark", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["- metrics: ACC (Hungarian), NMI (arithmetic), ARI, macro-F1 after matching, modularity, conductance "
              "(DMoN); %, mean +- std over the seeds; every trained method at its final epoch", ""]
    for ds in dict.fromkeys(r["dataset"] for r in summary):
        lines += [f"## {ds} ({sizes.get(ds, '')})", "",
                  "| method | ACC | NMI | ARI | F1 | modularity | conductance | s / run | note |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in (r for r in summary if r["dataset"] == ds):
            cells = [f"{100 * r[f'{k}_mean']:.2f} +- {100 * r[f'{k}_std']:.2f}" if f"{k}_mean" in r else "-"
                     for k in METRICS]
            lines.append(f"| {r['method']} | " + " | ".join(cells) + f" | {r['seconds_mean']:.1f} | {r['note']} |")
        if ds in PUBLISHED:
            who, vals = PUBLISHED[ds]
            lines.append(f"| best published ({who}) | " + " | ".join(f"{vals[k]:.2f}" for k in ("acc", "nmi", "ari",
                                                                                                 "f1"))
                         + " | - | - | - | reference/graph.md |")
        lines.append("")
    if skipped:
        lines += ["## Skipped", ""] + [f"- {s}" for s in skipped] + [""]
    return "\n".join(lines)


def run_benchmark(datasets: Sequence[str] = DEFAULT_DATASETS, methods: Sequence[str] = BENCH_METHODS,
                  seeds: Sequence[int] = tuple(range(10)), epochs: int | None = None,
                  pretrain_epochs: int | None = None, out: str | os.PathLike | None = None,
                  root: str | os.PathLike | None = None, smoke: bool = False, command: str | None = None,
                  graphs: dict[str, Data] | None = None, dense_max_nodes: int | None = None,
                  log: Callable[[str], None] | None = print) -> tuple[list[ClusteringResult], list[str]]:
    """Run every method on every dataset for every seed; returns the per-seed results and the skip notes.

    ``graphs`` maps dataset names to ready ``Data`` objects (used instead of loading them, e.g. in tests).
    With ``out`` the report files are rewritten (atomically) after every finished run, so an interrupted
    benchmark keeps what it measured.
    """
    unknown = [m for m in methods if m not in BENCH_METHODS]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; valid: {', '.join(BENCH_METHODS)}")
    if not seeds:
        raise ValueError("Expected at least one seed")
    if out is not None:
        require_matplotlib()  # for clustering.png: fail before the runs, not after them
    graphs = dict(graphs or {})
    log = log or (lambda _msg: None)
    results: list[ClusteringResult] = []
    skipped: list[str] = []
    sizes: dict[str, str] = {}
    header = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_description(),
              "command": command or "graphcl bench clustering (from Python)",
              "seeds": " ".join(str(s) for s in seeds),
              "epochs": "presets" + (f", overridden to {epochs}" if epochs is not None else "")
              + (" (smoke: few epochs)" if smoke else "")}
    missing = {m: _method_missing(m) for m in methods}
    for m, why in missing.items():
        if why:
            skipped.append(f"{m}: {why}")
    for ds in datasets:
        if ds in graphs:
            data = graphs[ds]
        else:
            if ds not in dataset_names():
                skipped.append(f"{ds}: unknown dataset (valid: {', '.join(dataset_names())})")
                continue
            if not dataset_available(ds, root):
                skipped.append(f"{ds}: its files are not (all) present under the data root")
                log(f"[skip] {ds}: files not present")
                continue
            data = load_graph(ds, root, **(_SMOKE_SYNTHETIC if smoke and ds == "synthetic" else {}))
        if getattr(data, "y", None) is None:
            skipped.append(f"{ds}: no labels")
            continue
        labels = data.y.cpu()
        k = int(labels.max()) + 1
        sizes[ds] = f"{data.num_nodes} nodes, {data.edge_index.size(1)} directed edges, {k} classes"
        ctx = _Context(ds, k, epochs, pretrain_epochs, smoke)
        for method in methods:
            if missing[method]:
                continue
            if method == "dense" and not (data.num_nodes <= dense_max_nodes if dense_max_nodes is not None
                                          else dense_fits(data.num_nodes)):
                skipped.append(f"dense on {ds}: N = {data.num_nodes} needs about "
                               f"{32 * data.num_nodes ** 2 / 2 ** 30:.1f} GiB for its N x N buffers")
                log(f"[skip] dense on {ds}: would not fit in memory")
                continue
            run = _runner(method)
            for seed in seeds:
                started = time.perf_counter()
                pred = run(data, ctx, int(seed))
                seconds = time.perf_counter() - started
                metrics = score_clustering(labels, pred, data.edge_index.cpu(), data.num_nodes)
                results.append(ClusteringResult(ds, method, int(seed), metrics, seconds, ctx.notes.get(method, "")))
                log(f"{ds:14s} {method:10s} seed {seed}: " + ", ".join(f"{m} {metrics[m]:.4f}" for m in METRICS)
                    + f" ({seconds:.1f} s)")
                if out is not None:  # an interrupted benchmark keeps every finished run
                    _write(out, results, skipped, header, sizes)
    if out is not None:
        _write(out, results, skipped, header, sizes)
        if results:
            table_png(Path(out) / "clustering.png", summarise(results))
    return results, skipped


def table_png(path: str | os.PathLike, summary: Sequence[dict[str, Any]]) -> None:
    """ACC (%, mean +- std over seeds) of every dataset and method of :func:`summarise`'s rows as a grouped bar
    chart: one group per dataset, one bar per method."""
    bar_chart_png(path, [Bar(r["dataset"], r["method"], 100 * r["acc_mean"], 100 * r["acc_std"])
                         for r in summary if "acc_mean" in r],
                  "ACC (%)", "Graph clustering: ACC after Hungarian matching, mean +- std over seeds")


def _write(out: str | os.PathLike, results: Sequence[ClusteringResult], skipped: Sequence[str],
           header: dict[str, str], sizes: dict[str, str]) -> None:
    out = Path(out)
    summary = summarise(results)
    write_text(out / "clustering.md", render_markdown(summary, header, skipped, sizes))
    columns = ["dataset", "method", "n", "seeds"] + [f"{k}_{s}" for k in METRICS for s in ("mean", "std")] + [
        "seconds_mean", "note"]
    meta = "".join(f"# {k}: {v}\n" for k, v in header.items())
    write_text(out / "clustering.csv", meta + _csv(summary, columns))
    runs = [{"dataset": r.dataset, "method": r.method, "seed": r.seed, **r.metrics, "seconds": r.seconds,
             "note": r.note} for r in results]
    write_text(out / "clustering_runs.csv",
               meta + _csv(runs, ["dataset", "method", "seed", *METRICS, "seconds", "note"]))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphcl bench clustering", description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=None, help=f"default: {' '.join(DEFAULT_DATASETS)}")
    p.add_argument("--methods", nargs="+", default=list(BENCH_METHODS), choices=BENCH_METHODS)
    p.add_argument("--seeds", type=int, default=10, help="number of seeds 0..N-1 (default: 10)")
    p.add_argument("--seed-list", help="explicit comma-separated seeds (overrides --seeds)")
    p.add_argument("--epochs", type=int, help="override every trained method's epochs")
    p.add_argument("--pretrain-epochs", type=int, help="override PamC's autoencoder pretraining epochs")
    p.add_argument("--dense-max-nodes", type=int, help="largest N for the dense loss (default: from RAM)")
    p.add_argument("--out", default=None, help="output folder (default: runs/bench-clustering-<time>/)")
    p.add_argument("--root", help="data root (default: $GRAPHCL_DATA)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--smoke", action="store_true", help="a small synthetic graph, 2 seeds, a few epochs")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``graphcl bench clustering``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    flush_denormals_process_wide()  # before torch starts its worker threads
    if args.seed_list:
        try:
            seeds = [int(s) for s in args.seed_list.split(",") if s.strip()]
        except ValueError:
            print(f"graphcl bench clustering: error: --seed-list expects integers (got {args.seed_list!r})",
                  file=sys.stderr)
            return 2
    else:
        seeds = list(range(2 if args.smoke and args.seeds == 10 else args.seeds))
    datasets = args.datasets or (["synthetic"] if args.smoke else list(DEFAULT_DATASETS))
    out = args.out or str(Path("runs") / f"bench-clustering-{time.strftime('%Y%m%d-%H%M%S')}")
    command = "graphcl bench clustering " + " ".join(shlex.quote(a) for a in argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        run_benchmark(datasets, args.methods, seeds, args.epochs, args.pretrain_epochs, out, args.root, args.smoke,
                      command, dense_max_nodes=args.dense_max_nodes, log=None if args.quiet else print)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"graphcl bench clustering: error: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"report: {Path(out) / 'clustering.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
