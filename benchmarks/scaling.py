"""Scaling out the node methods: mini-batch GRACE on 1 and 2 processes, one epoch on a 1M-node graph, and the
accuracy of full-batch against mini-batch training.

    python benchmarks/scaling.py                        # the three parts below (CPU; about 45 min on 2 cores)
    python benchmarks/scaling.py --smoke                # tiny graphs, every part once, ~20 s (the test runs it)
    python benchmarks/scaling.py --parts large          # one part
    python benchmarks/scaling.py --threads 4 --accuracy-epochs 50   # a bigger machine

Parts (every figure is mini-batch GRACE, :mod:`graphcl.methods.minibatch`, batch ``--batch-size`` seeds, fan-outs
``--num-neighbors``, the GRACE defaults otherwise, ``--threads`` torch threads per process):

* ``throughput``: a ``synthetic`` graph of ``--throughput-nodes`` nodes (average degree 10); one process, then two
  joined by Gloo (started here with ``torch.multiprocessing``, as ``torchrun`` would, the model in
  DistributedDataParallel, each taking half of every global batch); after one warm-up step, ``--throughput-steps``
  steps are timed between barriers. Seeds per second = steps x batch size / seconds; the ratio is 2 processes over
  1. The single process runs in this script's process, the two are spawned. Both processes sample and augment the
  whole global batch; they split the encoder (see the module docstring of ``graphcl.methods.minibatch``).
* ``large``: ``synthetic`` at ``--large-nodes`` nodes and ``--large-edges`` directed edges (CSBM, 10 blocks, 64
  features, 80% of the edges inside blocks), in a fresh process: seconds to build the graph, ``--large-batches``
  timed steps (after one warm-up) extrapolated to one epoch (nodes / batch size steps), the neighbour sampling's
  share, the full-graph embedding's seconds, and the process's memory (resident set after building the graph and
  the model; peak, ``ru_maxrss``, after the timed steps and after embedding). Full-batch GRACE is out of reach
  there (its InfoNCE loss compares every pair of the N nodes).
* ``accuracy``: ``--accuracy-dataset`` (Coauthor-CS) with GRACE's preset for it, full batch and mini-batch, both
  ``--accuracy-epochs`` epochs (the preset trains 1000 full-batch epochs: a shortened schedule, stated in the
  report), scored by the preset's linear probe (:func:`graphcl.runner.run`, as ``benchmarks/node_classification.py``).

The Markdown report is written atomically to ``--output`` (``docs/results/scaling.md``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from typing import Any

from graphcl.data import load_graph
from graphcl.train import machine_description, write_text
from graphcl.train.distributed import free_port

PARTS = ("throughput", "large", "accuracy")
SMOKE = {"throughput_nodes": 2000, "throughput_steps": 2, "large_nodes": 5000, "large_edges": 50000,
         "large_batches": 2, "accuracy_dataset": "synthetic", "accuracy_epochs": 2, "batch_size": 128}
SMOKE_PROBE = {"eval_splits": 1, "eval_epochs": 20}


def _rss_mib() -> float:
    """Current resident set of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(nodes: int, edges: int, seed: int = 0):
    """The registry's ``synthetic`` CSBM with about ``edges`` directed edges (10 blocks, 80% inside them)."""
    blocks = 10
    inside = blocks * (nodes / blocks) * (nodes / blocks - 1) / 2
    across = nodes * (nodes - 1) / 2 - inside
    return load_graph("synthetic", num_nodes=nodes, num_blocks=blocks, num_features=64,
                      p_in=min(1.0, 0.4 * edges / inside), p_out=min(1.0, 0.1 * edges / across), seed=seed)


def grace(data, batch_size: int, num_neighbors: list[int]):
    """Mini-batch GRACE with its defaults."""
    from graphcl.methods import GRACE, resolve_config

    config = resolve_config(GRACE, "synthetic", overrides={"batch_size": batch_size, "num_neighbors": num_neighbors})
    return GRACE(data, config)


def _throughput_worker(rank: int, world: int, port: int, spec: dict[str, Any], results) -> None:
    """One process of the throughput part (spawned): its share of ``steps`` timed global batches."""
    import torch.distributed as dist

    from graphcl.train import setup_process
    from graphcl.train.distributed import barrier

    setup_process(spec["threads"])
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=600))
    try:
        data = synthetic(spec["nodes"], 10 * spec["nodes"])
        method = grace(data, spec["batch_size"], spec["num_neighbors"])
        method.minibatch.train_epoch(0, max_batches=1)  # warm-up
        barrier()
        start = time.perf_counter()
        method.minibatch.train_epoch(1, max_batches=spec["steps"])
        barrier()
        if rank == 0:
            results.put({"seconds": time.perf_counter() - start, "edges": int(data.edge_index.size(1))})
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Seeds per second of 1 process (this one) and of 2 (spawned)."""
    import torch.multiprocessing as mp

    spec = {"nodes": args.throughput_nodes, "steps": args.throughput_steps, "batch_size": args.batch_size,
            "num_neighbors": args.num_neighbors, "threads": args.threads}
    rows = []
    for world in (1, 2):
        results = mp.get_context("spawn").SimpleQueue()
        if world == 1:
            _throughput_worker(0, 1, 0, spec, results)
        else:
            mp.spawn(_throughput_worker, args=(world, free_port(), spec, results), nprocs=world, join=True)
        row = {"processes": world, **results.get()}
        row["seeds_per_second"] = spec["steps"] * spec["batch_size"] / row["seconds"]
        rows.append(row)
        print(f"throughput, {world} process(es): {row['seeds_per_second']:.0f} seeds/s", file=sys.stderr)
    return rows


def large_child(spec: dict[str, Any]) -> dict[str, Any]:
    """The large-graph part, in this (fresh) process."""
    import torch

    from graphcl.train import setup_process

    setup_process(spec["threads"])
    start = time.perf_counter()
    data = synthetic(spec["nodes"], spec["edges"])
    build = time.perf_counter() - start
    method = grace(data, spec["batch_size"], spec["num_neighbors"])
    setup_rss = _rss_mib()
    training = method.minibatch
    training.train_epoch(0, max_batches=1)  # warm-up
    start = time.perf_counter()
    training.train_epoch(1, max_batches=spec["batches"])
    per_batch = (time.perf_counter() - start) / spec["batches"]
    peak_training = _peak_mib()
    seeds = torch.randperm(data.num_nodes)[: spec["batches"] * spec["batch_size"]].split(spec["batch_size"])
    start = time.perf_counter()
    for batch in seeds:
        training.loader(batch)
    sampling = (time.perf_counter() - start) / len(seeds)
    start = time.perf_counter()
    embeddings = method.embed()
    return {"nodes": int(data.num_nodes), "edges": int(data.edge_index.size(1)), "build_s": build,
            "batch_s": per_batch, "sampling_s": sampling,
            "epoch_s": per_batch * math.ceil(data.num_nodes / spec["batch_size"]),
            "embed_s": time.perf_counter() - start, "embedding_dim": int(embeddings.size(1)),
            "setup_mib": setup_rss, "peak_training_mib": peak_training, "peak_embed_mib": _peak_mib()}


def large(args: argparse.Namespace) -> dict[str, Any]:
    """The large-graph part in a child process (its peak memory is its own; in this one for ``--smoke``)."""
    spec = {"nodes": args.large_nodes, "edges": args.large_edges, "batches": args.large_batches,
            "batch_size": args.batch_size, "num_neighbors": args.num_neighbors, "threads": args.threads}
    if args.smoke:
        return large_child(spec)
    done = subprocess.run([sys.executable, __file__, "--child-large", json.dumps(spec)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"the large-graph part failed:\n{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"large: {row['nodes']} nodes, {row['edges']} edges, {row['epoch_s']:.0f} s per epoch (extrapolated), "
          f"peak {row['peak_embed_mib']:.0f} MiB", file=sys.stderr)
    return row


def accuracy(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Full batch and mini-batch GRACE on ``--accuracy-dataset``, the same epochs, the preset's probe."""
    from graphcl.runner import run
    from graphcl.train import setup_process

    setup_process(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, batch in (("full batch", None), ("mini-batch", args.batch_size)):
            overrides = {"epochs": args.accuracy_epochs, "batch_size": batch, "num_neighbors": args.num_neighbors,
                         **(SMOKE_PROBE if args.smoke else {})}
            metrics = run("grace", args.accuracy_dataset, root=args.root, overrides=overrides, device=args.device,
                          out=os.path.join(tmp, label.replace(" ", "-")), progress=False)
            probe = metrics["linear_probe"]
            rows.append({"training": label, "batch_size": batch, "epochs": metrics["epochs"],
                         "train_s": metrics["train_seconds"], "accuracy": probe["accuracy_mean"],
                         "std": probe["accuracy_std"], "protocol": probe["protocol"]})
            print(f"accuracy, {label}: {100 * probe['accuracy_mean']:.2f}", file=sys.stderr)
    return rows


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--smoke", action="store_true", help="tiny sizes: every part in seconds (a check, not a figure)")
    p.add_argument("--batch-size", type=int, default=1024, help="seed nodes per global batch (default 1024)")
    p.add_argument("--num-neighbors", type=int, nargs="+", default=[10, 10], help="fan-out per layer (10 10)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (default 1)")
    p.add_argument("--throughput-nodes", type=int, default=100_000)
    p.add_argument("--throughput-steps", type=int, default=20, help="timed global batches per process count")
    p.add_argument("--large-nodes", type=int, default=1_000_000)
    p.add_argument("--large-edges", type=int, default=10_000_000, help="directed edges (about)")
    p.add_argument("--large-batches", type=int, default=20, help="timed batches, extrapolated to one epoch")
    p.add_argument("--accuracy-dataset", default="CS")
    p.add_argument("--accuracy-epochs", type=int, default=20, help="epochs of both runs (GRACE's CS preset: 1000)")
    p.add_argument("--device", default="cpu", help="device of the accuracy part")
    p.add_argument("--root", help="data root (default: $GRAPHCL_DATA, else datasets/)")
    p.add_argument("--output", default="docs/results/scaling.md")
    p.add_argument("--child-large", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child_large:
        print(json.dumps(large_child(json.loads(args.child_large))))
        return 0
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv if argv is not None
                                                                                else sys.argv[1:]))
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for part, measure in (("throughput", throughput), ("large", large), ("accuracy", accuracy)):
        if part in args.parts:
            results[part] = measure(args)
            write_text(args.output, report(args, command, results, time.perf_counter() - started))
    text = report(args, command, results, time.perf_counter() - started)
    write_text(args.output, text)
    print(text)
    return 0


def report(args: argparse.Namespace, command: str, results: dict[str, Any], seconds: float) -> str:
    """The Markdown report of the parts measured so far."""
    lines = ["# Scaling out: mini-batch GRACE, DistributedDataParallel, a 1M-node graph", "",
             f"- Machine: {machine_description('cpu')}; torch threads per process: {args.threads}",
             f"- Command: `{command}`" + (" (smoke sizes: a check that every part runs, not a measurement)"
                                          if args.smoke else ""),
             f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S')}; total {seconds / 60:.1f} min",
             f"- Mini-batch: GRACE defaults, batch {args.batch_size} seed nodes, fan-outs {args.num_neighbors} "
             f"(graphcl.methods.minibatch); seeds: model and sampling seed 0, graph seed 0", ""]
    if "throughput" in results:
        rows = results["throughput"]
        lines += ["## Throughput, 1 and 2 processes (Gloo, CPU)", "",
                  f"`synthetic`, {args.throughput_nodes} nodes, {rows[0]['edges']} edges; {args.throughput_steps} "
                  f"global batches timed after one warm-up step.", "",
                  "| processes | seconds | seeds / s | ratio to 1 process |", "|---|---|---|---|"]
        lines += [f"| {r['processes']} | {r['seconds']:.2f} | {r['seeds_per_second']:.0f} | "
                  f"{r['seeds_per_second'] / rows[0]['seeds_per_second']:.2f} |" for r in rows]
        lines.append("")
    if "large" in results:
        r = results["large"]
        lines += ["## One mini-batch epoch on a large graph", "",
                  f"`synthetic`, {r['nodes']} nodes, {r['edges']} directed edges, 64 features; "
                  f"{args.large_batches} batches timed after one warm-up and extrapolated to "
                  f"{math.ceil(r['nodes'] / args.batch_size)} batches (one epoch); one process.", "",
                  "| graph build s | s / batch | sampling s / batch | epoch s (extrapolated) | embedding s "
                  "(all nodes) | MiB after setup | peak MiB, training | peak MiB, with embedding |",
                  "|---|---|---|---|---|---|---|---|",
                  f"| {r['build_s']:.1f} | {r['batch_s']:.3f} | {r['sampling_s']:.3f} | {r['epoch_s']:.0f} | "
                  f"{r['embed_s']:.1f} | {r['setup_mib']:.0f} | {r['peak_training_mib']:.0f} | "
                  f"{r['peak_embed_mib']:.0f} |", ""]
    if "accuracy" in results:
        rows = results["accuracy"]
        lines += [f"## Accuracy: full batch against mini-batch ({args.accuracy_dataset})", "",
                  f"GRACE's preset for {args.accuracy_dataset} (its defaults where it has none), "
                  f"{args.accuracy_epochs} epochs each (shortened schedule); probe: {rows[0]['protocol']}.", "",
                  "| training | batch | epochs | train s | probe accuracy (%) |", "|---|---|---|---|---|"]
        lines += [f"| {r['training']} | {r['batch_size'] or 'all nodes'} | {r['epochs']} | {r['train_s']:.0f} | "
                  f"{100 * r['accuracy']:.2f} +- {100 * r['std']:.2f} |" for r in rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
