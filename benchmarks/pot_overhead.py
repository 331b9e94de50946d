"""POT's cost: seconds per epoch and peak memory of each method with and without POT, in one run.

    python benchmarks/pot_overhead.py                                   # Cora, Photo, CS x grace, csgcl, ggd
    python benchmarks/pot_overhead.py --datasets Cora --methods grace --epochs 5   # a quick look
    python benchmarks/pot_overhead.py --device cuda                     # on a GPU (peak memory: CUDA allocator)

Every (dataset, method, with/without POT) runs in its own fresh process (so its peak resident memory is its own):
it loads the dataset, builds the method from its preset for the dataset (``pot: true`` and ``--pot-batch`` for the
POT rows), trains one warm-up epoch and then ``--epochs`` timed epochs; the figure is the median epoch. The pair
without / with POT runs back to back, ``--repeats`` times (medians over repeats), so both see the same machine load.
Memory: the process's peak resident set (``ru_maxrss``) minus its resident set after loading the data and building
the model, i.e. what training itself needs; the last column is what one dense float32 N x N matrix (each of the
reference's bound matrices) would take.
The Markdown report is written atomically to ``--output``.
"""
from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from typing import Any

from graphcl.train import machine_description, write_text

DEFAULT_DATASETS = ["Cora", "Photo", "CS"]
DEFAULT_METHODS = ["grace", "csgcl", "ggd"]


def _rss_mib() -> float:
    """Current resident set of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(dataset: str, method: str, pot: bool, epochs: int, root: str | None, device: str, threads: int,
          pot_batch: int | None) -> dict[str, Any]:
    """One measurement in this (fresh) process; returns seconds per epoch and memory."""
    import torch

    from graphcl.data import load_graph
    from graphcl.methods import get_method, resolve_config
    from graphcl.train import setup_process
    setup_process(threads)
    data = load_graph(dataset, root)
    cls = get_method(method)
    overrides = {"pot": True, "pot_batch": pot_batch} if pot else {}
    config = resolve_config(cls, dataset, overrides=overrides)
    model = cls(data, config, device)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        base = _rss_mib()
    model.train_epoch(0)  # warm-up (structure caches, allocator)
    times = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train_epoch(epoch)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": statistics.median(times), "peak_mib": peak - base, "nodes": int(data.num_nodes),
            "edges": int(data.edge_index.shape[1]), "preset": config["preset"]}


def _measure(args: argparse.Namespace, dataset: str, method: str, pot: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", dataset, method, str(int(pot)), "--epochs", str(args.epochs),
           "--device", args.device, "--threads", str(args.threads)]
    if args.root:
        cmd += ["--root", args.root]
    if args.pot_batch:
        cmd += ["--pot-batch", str(args.pot_batch)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{dataset} / {method} / pot={pot} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS)
    p.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per measurement (after one warm-up)")
    p.add_argument("--repeats", type=int, default=1, help="without/with pairs per (dataset, method)")
    p.add_argument("--pot-batch", type=int, help="pot_batch of the POT rows (default: the config's, all nodes)")
    p.add_argument("--root", help="data root (default: $GRAPHCL_DATA, else datasets/)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (default 1)")
    p.add_argument("--output", default="benchmarks/results/pot_overhead.md")
    p.add_argument("--child", nargs=3, metavar=("DATASET", "METHOD", "POT"), help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        dataset, method, pot = args.child
        print(json.dumps(child(dataset, method, pot == "1", args.epochs, args.root, args.device, args.threads,
                               args.pot_batch)))
        return 0
    import torch
    torch.set_num_threads(args.threads)  # the report's machine line names the measuring processes' threads
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(argv if argv is not None
                                                                                else sys.argv[1:]))
    started = time.perf_counter()
    rows = []
    for dataset in args.datasets:
        for method in args.methods:
            pairs = [(_measure(args, dataset, method, False), _measure(args, dataset, method, True))
                     for _ in range(args.repeats)]
            plain, pot = pairs[0]
            row = {"dataset": dataset, "method": method, "nodes": plain["nodes"], "edges": plain["edges"],
                   "preset": plain["preset"],
                   "plain_s": statistics.median(p["seconds"] for p, _ in pairs),
                   "pot_s": statistics.median(q["seconds"] for _, q in pairs),
                   "plain_mib": statistics.median(p["peak_mib"] for p, _ in pairs),
                   "pot_mib": statistics.median(q["peak_mib"] for _, q in pairs)}
            rows.append(row)
            print(f"{dataset} {method}: {row['plain_s']:.3f} -> {row['pot_s']:.3f} s/epoch "
                  f"({row['pot_s'] / row['plain_s']:.2f}x), {row['plain_mib']:.0f} -> {row['pot_mib']:.0f} MiB",
                  file=sys.stderr)
            write_text(args.output, report(args, command, rows, time.perf_counter() - started))
    text = report(args, command, rows, time.perf_counter() - started)
    write_text(args.output, text)
    print(text)
    return 0


def report(args: argparse.Namespace, command: str, rows: list[dict[str, Any]], seconds: float) -> str:
    """The Markdown report of the rows measured so far."""
    where = "CUDA allocator peak" if args.device.startswith("cuda") else "peak resident set"
    lines = ["# POT overhead: seconds per epoch and training memory, without / with POT", "",
             f"- Machine: {machine_description(args.device)}",
             f"- Command: `{command}`",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S')}; total {seconds / 60:.1f} min",
             f"- Protocol: each method's preset for the dataset; one warm-up epoch, then the median of {args.epochs} "
             f"epochs; {args.repeats} without/with pair(s) back to back per row; torch threads {args.threads}; "
             f"pot_batch {args.pot_batch or 'all nodes'}. Memory: {where} minus the process's memory after loading "
             f"the data and building the model.", "",
             "| dataset | N | E | method | preset | s / epoch | s / epoch with POT | ratio | MiB | MiB with POT | "
             "POT extra MiB | one dense N x N (MiB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['nodes']} | {r['edges']} | {r['method']} | {r['preset'] or '-'} | "
                     f"{r['plain_s']:.3f} | {r['pot_s']:.3f} | {r['pot_s'] / r['plain_s']:.2f} | "
                     f"{r['plain_mib']:.0f} | {r['pot_mib']:.0f} | {r['pot_mib'] - r['plain_mib']:.0f} | "
                     f"{r['nodes'] ** 2 * 4 / 2**20:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
