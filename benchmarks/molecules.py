"""Molecule pretraining side by side: no pretraining, the GraphCL/MolCLR baseline, KCL's GCN view and KCL's KMPNN,
fine-tuned and linearly probed on MoleculeNet with the same splits and seeds, in one run.

    python benchmarks/molecules.py                                   # the CPU setting of docs/molecules.md
    python benchmarks/molecules.py --corpus-size 250000 --budget-minutes 0 --pretrain-epochs 20 \\
        --device cuda --store runs/mol-gpu                           # the GPU setting: full ZINC-250k, 20 epochs
    python benchmarks/molecules.py --smoke                           # tiny: checks the script runs

Pretraining: ``--corpus-size`` molecules drawn from ZINC-250k with ``--corpus-seed`` (default 50,000, seed 0), each
method (``graphcl-mol``, ``kcl``) trained for at most ``--pretrain-epochs`` epochs or until the first epoch that
ends past ``--budget-minutes`` (the epochs that fit are reported). One KCL pretraining gives both KCL rows: its
KMPNN (augmented view) and its GCN (original view). Downstream: every dataset of ``--datasets`` with the
deterministic 8:1:1 scaffold split (Murcko scaffolds, largest first, as Hu et al. and MolCLR), seeds ``--seeds``
for the head, the fine-tuning order and the no-pretraining initialisation; protocols ``finetune`` (encoder trained,
early stopping on validation ROC-AUC / RMSE, test figures of the best-validation weights) and ``linear`` (frozen
embeddings, one linear model per task, regularisation chosen on validation). Figures: test ROC-AUC (classification,
mean over tasks) or RMSE (regression), mean +- std over seeds.

``--store DIR`` keeps every pretraining folder and every downstream result (``<dataset>-<model>-<protocol>-<seed>
.json``), so a later invocation with the same store reuses finished work and resumes an interrupted pretraining
from its last epoch; the tables are rewritten after every finished run. Outputs: ``--out`` (Markdown report:
command, machine, corpus, seeds, pretraining epochs and throughput, the table with the published numbers beside
it), ``--plot`` (PNG of the pretraining loss per step).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphcl import molecule_runner  # noqa: E402
from graphcl.bench.plots import line_chart_png  # noqa: E402
from graphcl.bench.report import publish, run_header  # noqa: E402
from graphcl.data.root import data_root  # noqa: E402
from graphcl.train import setup_process, write_json  # noqa: E402

DATASETS = ["bbbp", "bace", "clintox", "sider", "esol", "freesolv", "lipophilicity", "tox21", "toxcast"]
#: model -> (pretraining method or None, downstream encoder)
MODELS = {"none-gin": (None, "gin"), "none-gcn": (None, "gcn"), "none-kmpnn": (None, "kmpnn"),
          "graphcl-mol": ("graphcl-mol", "gin"), "kcl-gcn": ("kcl", "gcn"), "kcl-kmpnn": ("kcl", "kmpnn")}
#: published figures (ROC-AUC; RMSE for ESOL/FreeSolv), shared/reference/molecules.md: KCL paper, its splits
PUBLISHED = {
    ("kcl-kmpnn", "finetune"): {"bbbp": .961, "tox21": .859, "toxcast": .740, "sider": .671, "clintox": .958,
                                "bace": .924, "esol": .732, "freesolv": .795},
    ("kcl-gcn", "linear"): {"bbbp": .929, "tox21": .821, "toxcast": .696, "sider": .620, "clintox": .909,
                            "bace": .902},
    ("kcl-kmpnn", "linear"): {"bbbp": .927, "tox21": .825, "toxcast": .709, "sider": .659, "clintox": .898,
                              "bace": .860},
    ("graphcl-mol", "linear"): {"bbbp": .697, "tox21": .739, "toxcast": .624, "sider": .605, "clintox": .760,
                                "bace": .755},
}
ZINC = "zinc/zinc250k.txt.gz"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--protocols", nargs="+", default=["finetune", "linear"], choices=["finetune", "linear"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--corpus-size", type=int, default=50000)
    p.add_argument("--corpus-seed", type=int, default=0)
    p.add_argument("--pretrain-epochs", type=int, default=20)
    p.add_argument("--budget-minutes", type=float, default=60.0, help="per pretraining; 0 = no budget")
    p.add_argument("--finetune-epochs", type=int, default=100)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--root", help="data root (default: $GRAPHCL_DATA, else datasets/)")
    p.add_argument("--store", default="runs/molecules-benchmark")
    p.add_argument("--out", default="docs/results/molecules.md")
    p.add_argument("--plot", default="docs/results/molecules_pretraining_loss.png")
    p.add_argument("--smoke", action="store_true", help="tiny corpus, 1 epoch, 2 datasets, 1 seed")
    p.add_argument("--report-only", action="store_true",
                   help="write the report from the store's finished runs, train nothing")
    args = p.parse_args(argv)
    if args.smoke:
        args.corpus_size, args.pretrain_epochs, args.finetune_epochs, args.patience = 64, 1, 2, 2
        args.datasets, args.seeds = args.datasets[:1] if args.datasets != DATASETS else ["bbbp", "esol"], [0]
    return args


def pretrain_all(args: argparse.Namespace, store: Path) -> dict[str, dict[str, Any]]:
    """Each pretraining method once (reused or resumed from the store); returns its metrics by method."""
    results = {}
    corpus = data_root(args.root) / ZINC
    for method in sorted({MODELS[m][0] for m in args.models if MODELS[m][0] is not None}):
        folder = store / f"pretrain-{method}-n{args.corpus_size}-s{args.corpus_seed}"
        done = folder / "metrics.json"
        overrides = {"epochs": args.pretrain_epochs,
                     "budget_minutes": args.budget_minutes if args.budget_minutes > 0 else None}
        if args.smoke:
            overrides["batch_size"] = 16
        if done.exists():
            print(f"[reuse] {folder}")
            results[method] = json.loads(done.read_text())
            continue
        print(f"[pretrain] {method} on {args.corpus_size} molecules of {corpus}")
        random.seed(0)
        if (folder / "checkpoint.pt").exists():
            metrics = molecule_runner.pretrain(resume=folder, device=args.device, progress=False)
        else:
            metrics = molecule_runner.pretrain(method, corpus, subset=args.corpus_size, subset_seed=args.corpus_seed,
                                               overrides=overrides, out=folder, device=args.device, progress=False)
        results[method] = metrics
        print(f"  {metrics['epochs']} epochs, {metrics['train_seconds']:.0f} s, "
              f"{metrics['molecules_per_second']:.1f} molecules/s, final loss {metrics['final_loss']:.4f}")
    return results


def _fmt(value: float | None) -> str:
    return "n/a (no task with both classes)" if value is None else f"{value:.4f}"


def downstream(args: argparse.Namespace, store: Path, on_result) -> None:
    """Seed-major order (every dataset and model at the first seed, then the next seed), so that a partial run
    covers every cell; both protocols of a (dataset, model, seed) share one loaded run."""
    for seed in args.seeds:
        for dataset in args.datasets:
            for model in args.models:
                method, encoder = MODELS[model]
                run = store / f"pretrain-{method}-n{args.corpus_size}-s{args.corpus_seed}" if method else None
                pending = [p for p in args.protocols
                           if not (store / "results" / f"{dataset}-{model}-{p}-{seed}.json").exists()]
                if not pending:
                    continue
                protocol = "both" if len(pending) == 2 else pending[0]
                out = store / "finetune" / f"{dataset}-{model}-{protocol}-{seed}-{time.strftime('%H%M%S')}"
                started = time.perf_counter()
                m = molecule_runner.finetune(run, dataset, root=args.root, split="scaffold", protocol=protocol,
                                             encoder=encoder, seed=seed, out=out, device=args.device, progress=False,
                                             overrides={"epochs": args.finetune_epochs, "patience": args.patience})
                for p in pending:
                    result = {"dataset": dataset, "model": model, "protocol": p, "seed": seed,
                              "metric": m[p]["test"]["metric"], "test": m[p]["test"]["mean"],
                              "validation": m[p]["validation"]["mean"], "seconds": time.perf_counter() - started,
                              "best_epoch": m[p].get("best_epoch"), "split_sizes": m["split_sizes"]}
                    write_json(store / "results" / f"{dataset}-{model}-{p}-{seed}.json", result)
                    print(f"  {dataset:14s} {model:12s} {p:8s} seed {seed}: test {result['metric']} "
                          f"{_fmt(result['test'])} (validation {_fmt(result['validation'])})", flush=True)
                on_result()


def table(args: argparse.Namespace, store: Path) -> str:
    rows = []
    for protocol in args.protocols:
        head = "| model | " + " | ".join(args.datasets) + " |"
        rows += [f"**{protocol}** (test; ROC-AUC up, RMSE down; mean +- std over seeds {args.seeds}; published in "
                 f"brackets)", "", head, "|---" * (len(args.datasets) + 1) + "|"]
        for model in args.models:
            cells = []
            for dataset in args.datasets:
                vals = [json.loads(f.read_text())["test"] for f in
                        sorted((store / "results").glob(f"{dataset}-{model}-{protocol}-*.json"))
                        if int(f.stem.rsplit("-", 1)[1]) in args.seeds]
                vals = [v for v in vals if v is not None]
                cell = f"{np.mean(vals):.3f} +- {np.std(vals):.3f}" + ("" if len(vals) == len(args.seeds)
                                                                        else f" ({len(vals)} seeds)") if vals else "-"
                pub = PUBLISHED.get((model, protocol), {}).get(dataset)
                cells.append(cell + (f" [{pub:.3f}]" if pub is not None else ""))
            rows.append(f"| {model} | " + " | ".join(cells) + " |")
        rows.append("")
    return "\n".join(rows)


def plot(pretrained: dict[str, dict[str, Any]], path: str) -> None:
    """The pretraining loss per optimiser step (running mean over 1% of the steps) of every method, as a PNG."""
    lines = {}
    for method, m in sorted(pretrained.items()):
        steps = np.asarray(m.get("step_losses") or [])
        if steps.size:
            window = max(1, steps.size // 100)
            smooth = np.convolve(steps, np.ones(window) / window, mode="valid")
            lines[f"{method} ({m['epochs']} epochs)"] = (np.arange(smooth.size) + window, smooth)
    if lines:
        line_chart_png(path, lines, "optimiser step", "NT-Xent loss (running mean)",
                       "Pretraining loss on the ZINC subset")


def report(args, header: dict[str, str], pretrained: dict[str, dict[str, Any]], store: Path, elapsed: float) -> str:
    lines = ["# Molecule pretraining benchmark", ""]
    lines += [f"- {k}: `{v}`" if k == "command" else f"- {k}: {v}" for k, v in header.items()]
    lines += [f"- corpus: {args.corpus_size} molecules of ZINC-250k (seed {args.corpus_seed}); pretraining at most "
              f"{args.pretrain_epochs} epochs, budget {args.budget_minutes or 'none'} min each",
              f"- downstream: deterministic scaffold split 8:1:1; seeds {args.seeds}; fine-tuning at most "
              f"{args.finetune_epochs} epochs, patience {args.patience}",
              f"- wall time of this invocation: {elapsed / 60:.1f} min", "", "## Pretraining", "",
              "| method | molecules | epochs | seconds | molecules/s | final loss |", "|---|---|---|---|---|---|"]
    for method, m in sorted(pretrained.items()):
        lines.append(f"| {method} | {m['corpus']['valid']} | {m['epochs']} | {m['train_seconds']:.0f} | "
                     f"{m['molecules_per_second']:.1f} | {m['final_loss']:.4f} |")
    lines += ["", "## Downstream", "", table(args, store)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_process(args.threads)
    torch.manual_seed(0)
    store = Path(args.store)
    header = run_header("benchmarks/molecules.py", argv, args.device)
    started = time.perf_counter()
    if args.report_only:
        pretrained = {p.name.split("-n")[0][len("pretrain-"):]: json.loads((p / "metrics.json").read_text())
                      for p in sorted(store.glob(f"pretrain-*-n{args.corpus_size}-s{args.corpus_seed}"))
                      if (p / "metrics.json").exists()}
    else:
        pretrained = pretrain_all(args, store)
    if pretrained:
        plot(pretrained, args.plot)

    def write() -> None:
        publish(report(args, header, pretrained, store, time.perf_counter() - started), args.out)

    if not args.report_only:
        downstream(args, store, write)
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
