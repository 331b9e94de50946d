"""Node classification by linear probe on frozen embeddings (GRACE and CSGCL by default; any registered method).

    python benchmarks/node_classification.py                       # Cora, CiteSeer; 5 seeds; presets
    python benchmarks/node_classification.py --full                # + Photo, Computers, CS (PubMed, WikiCS if present)
    python benchmarks/node_classification.py --datasets Cora --seeds 2 --epochs 50   # a quick look
    python benchmarks/node_classification.py --datasets Cora --methods grace grace:tau=0.6   # an ablation row
    python benchmarks/node_classification.py --datasets Cora --methods grace csgcl ggd      # other methods beside
    python benchmarks/node_classification.py --datasets Photo Computers --device cuda --jobs 8   # 8 runs at once

Every (method, dataset, seed) is one :func:`graphcl.runner.run` with the method's preset for the dataset and
``seed`` overridden (model initialisation and augmentations; the probe splits stay the same for all seeds, so
both methods are scored on the same splits). The probe is the standard protocol (logistic regression, random
10/10/80 splits, test accuracy at the best validation epoch, ``eval_splits`` splits per run). The table gives the
mean and standard deviation over seeds of each run's mean test accuracy, and the mean validation accuracy. The
Markdown report (machine, commands, table) is written atomically to ``--output``, and at the end a bar chart of
the table's test accuracies (mean +- std over seeds) beside it (``--output`` with ``.png``).

The published CSGCL schedules (2000-4600 epochs on Photo/Computers/CS) take hours per run on a CPU: use --epochs
to shorten them (the table says so) or run --full on a GPU (--device cuda).

``--jobs N`` runs the (method, dataset, seed) runs in N worker processes (spawned; each loads the dataset itself
and uses ``--threads`` torch threads), e.g. to keep a GPU busy with several small runs at once. Every run is seeded,
so the table is the one a sequential run (``--jobs 1``, the default, in this process) gives; only the order of the
per-run progress lines follows the order in which runs finish.

A method may carry config overrides, ``METHOD:key=value,key=value`` (values parsed as YAML): such a row is the
method's preset with those keys changed, and the table names them.
"""
from __future__ import annotations

import argparse
import multiprocessing
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from graphcl.bench.plots import Bar, bar_chart_png, require_matplotlib
from graphcl.data import DatasetNotFoundError, load_graph
from graphcl.runner import run
from graphcl.train import machine_description, setup_process, write_text

DEFAULT_DATASETS = ["Cora", "CiteSeer"]
FULL_DATASETS = ["Cora", "CiteSeer", "Photo", "Computers", "CS", "PubMed", "WikiCS"]
OPTIONAL = {"PubMed", "WikiCS"}  # run only when their files are present


def parse_method(spec: str) -> tuple[str, dict]:
    """``"grace:tau=0.6,epochs=300"`` -> ``("grace", {"tau": 0.6, "epochs": 300})``; a bare name has no overrides."""
    name, _, rest = spec.partition(":")
    overrides = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"Bad method override {item!r} in {spec!r}: expected key=value")
        overrides[key.strip()] = yaml.safe_load(value)
    return name, overrides


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", help=f"datasets (default: {' '.join(DEFAULT_DATASETS)})")
    p.add_argument("--full", action="store_true", help=f"all of: {' '.join(FULL_DATASETS)}")
    p.add_argument("--methods", nargs="+", default=["grace", "csgcl"],
                   help="methods, each optionally with overrides: METHOD:key=value,key=value")
    p.add_argument("--seeds", type=int, default=5, help="training seeds 0..S-1 (default: 5)")
    p.add_argument("--epochs", type=int, help="override every preset's epochs (marked in the table)")
    p.add_argument("--eval-splits", type=int, help="probe splits per run (default: the config's, 5)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads, per process (default 1: on a shared 2-core machine more threads run "
                        "slower)")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs at once, each in its own worker process (default 1: one after the other, here)")
    p.add_argument("--root", help="data root (default: $GRAPHCL_DATA, else datasets/)")
    p.add_argument("--runs", help="folder for the per-run outputs (default: a temporary folder)")
    p.add_argument("--output", default="benchmarks/results/node_classification.md")
    return p


def run_all(tasks: list[dict[str, Any]], jobs: int, threads: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, metrics)`` of each task (keyword arguments of :func:`graphcl.runner.run`) as it finishes: in this
    process one after the other when ``jobs == 1``, else in ``jobs`` spawned worker processes, where a task's
    ``data`` is dropped and the worker loads the dataset itself (no pickled copy of the graph per run)."""
    if jobs == 1:
        for index, task in enumerate(tasks):
            yield index, run(**task)
        return
    pool = ProcessPoolExecutor(min(jobs, len(tasks)) or 1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=setup_process, initargs=(threads,))
    try:
        futures = {pool.submit(run, **{**task, "data": None}): index for index, task in enumerate(tasks)}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # a failed run stops the benchmark: the runs not started yet are cancelled
        pool.shutdown(cancel_futures=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be >= 1 (got {args.jobs})")
    require_matplotlib()  # for the table's PNG: fail before the runs, not after them
    setup_process(args.threads)
    datasets = FULL_DATASETS if args.full else (args.datasets or DEFAULT_DATASETS)
    runs_dir = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="graphcl-nc-"))
    overrides_common = {"epochs": args.epochs, "eval_splits": args.eval_splits}
    groups, tasks, labels, notes = [], [], [], []  # groups: (dataset, method, tag, task indices), one per row
    started = time.perf_counter()
    for dataset in datasets:
        try:
            data = load_graph(dataset, args.root)  # here also for --jobs > 1: absent files, processed cache
        except DatasetNotFoundError as err:
            if dataset in OPTIONAL or args.full:
                notes.append(f"- {dataset}: skipped (files not present: {str(err).split(':')[1].strip()[:80]}...)")
                print(f"skip {dataset}: not present", file=sys.stderr)
                continue
            raise
        for method in args.methods:
            name, extra = parse_method(method)
            tag = method.replace(":", "_").replace(",", "_")
            groups.append((dataset, method, tag, range(len(tasks), len(tasks) + args.seeds)))
            tasks += [{"method": name, "dataset": dataset, "root": args.root, "data": data, "device": args.device,
                       "overrides": {**overrides_common, **extra, "seed": seed}, "progress": False,
                       "out": runs_dir / f"{tag}-{dataset}-seed{seed}",
                       "overwrite": True} for seed in range(args.seeds)]
            labels += [f"{method:6s} {dataset:10s} seed {seed}" for seed in range(args.seeds)]
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv if argv is not None
                                                                                else sys.argv[1:]))
    results: list[dict[str, Any]] = [{}] * len(tasks)
    text = ""
    for index, metrics in run_all(tasks, args.jobs, args.threads):
        results[index] = metrics
        probe = metrics["linear_probe"]
        print(f"{labels[index]}: test {100 * probe['accuracy_mean']:.2f} "
              f"val {100 * np.mean(probe['val_accuracies']):.2f} ({metrics['train_seconds']:.1f} s)", file=sys.stderr)
        # rewritten after every run, so a run stopped by a time limit leaves the seeds it finished
        text = report(args, command, groups, results, runs_dir, notes, time.perf_counter() - started)
        write_text(args.output, text)
    if tasks:
        table_png(Path(args.output).with_suffix(".png"), groups, results)
    print(text)
    return 0


def finished_rows(groups: list, results: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, range, list]]:
    """``(dataset, method, tag, indices, finished metrics)`` of every table row with at least one finished seed."""
    for dataset, method, tag, indices in groups:
        done = [results[i] for i in indices if results[i]]
        if done:
            yield dataset, method, tag, indices, done


def test_accuracies(done: list[dict[str, Any]]) -> list[float]:
    """The table's figure of each finished run: its mean test accuracy over the probe's splits."""
    return [r["linear_probe"]["accuracy_mean"] for r in done]


def public_split_accuracies(done: list[dict[str, Any]]) -> list[float]:
    """Each finished run's test accuracy on the dataset's public split(s), where the dataset has one (else [])."""
    return [r["linear_probe_public_split"]["accuracy_mean"] for r in done if "linear_probe_public_split" in r]


def table_png(path: str | Path, groups: list, results: list[dict[str, Any]]) -> None:
    """The table's test accuracy (mean +- std over seeds) as a grouped bar chart: one group per dataset, one bar
    per method."""
    bar_chart_png(path, [Bar(dataset, method, 100 * float(np.mean(test_accuracies(done))),
                             100 * float(np.std(test_accuracies(done))))
                         for dataset, method, _, _, done in finished_rows(groups, results)],
                  "test accuracy (%)", "Node classification: linear probe, mean +- std over seeds")


def report(args: argparse.Namespace, command: str, groups: list, results: list[dict[str, Any]], runs_dir: Path,
           notes: list[str], seconds: float) -> str:
    """The Markdown report over the runs finished so far (``results[i]`` is ``{}`` for a run not finished); a row
    with fewer finished seeds than asked says how many it has."""
    finished = sum(bool(r) for r in results)
    lines = ["# Node classification: linear probe on frozen embeddings (" + ", ".join(args.methods) + ")", "",
             f"- Machine: {machine_description(args.device)}",
             f"- Command: `{command}`",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S')}; total {seconds / 60:.1f} min",
             f"- Protocol: each method's preset for the dataset; training seeds 0..{args.seeds - 1}; per run the "
             f"mean test accuracy over the probe's random 10/10/80 splits (test at best validation epoch), and on "
             f"the dataset's public split where it has one; table: mean +- std over seeds."
             + (f" Epochs overridden to {args.epochs} (NOT the published schedules)." if args.epochs else "")]
    if finished < len(results):
        lines.append(f"- PARTIAL: {finished} of {len(results)} runs finished so far")
    lines += ["", "| dataset | method | preset | epochs | test acc (%) | val acc (%) | public split test acc (%) | "
              "s / run |", "|---|---|---|---|---|---|---|---|"]
    per_seed = []
    for dataset, method, tag, indices, done in finished_rows(groups, results):
        tests = test_accuracies(done)
        vals = [float(np.mean(r["linear_probe"]["val_accuracies"])) for r in done]
        secs = [r["train_seconds"] for r in done]
        first = next(i - indices[0] for i in indices if results[i])
        preset = yaml.safe_load((runs_dir / f"{tag}-{dataset}-seed{first}" / "config.yaml").read_text())["preset"]
        count = "" if len(done) == len(indices) else f" ({len(done)} of {len(indices)} seeds)"
        public = public_split_accuracies(done)
        public_cell = f"{100 * np.mean(public):.2f} +- {100 * np.std(public):.2f}" if public else "-"
        lines.append(f"| {dataset} | {method} | {preset or '-'} | {done[0]['epochs']} | "
                     f"{100 * np.mean(tests):.2f} +- {100 * np.std(tests):.2f}{count} | {100 * np.mean(vals):.2f} | "
                     f"{public_cell} | {np.mean(secs):.1f} |")
        per_seed.append(f"- {dataset} / {method}: " + ", ".join(
            f"{100 * results[i]['linear_probe']['accuracy_mean']:.2f}" if results[i] else "-" for i in indices))
    if notes:
        lines += ["", *notes]
    lines += ["", "Per-seed test accuracies (%):", "", *per_seed]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
