"""Forward + backward time and peak memory of the PamC loss against the dense contrastive loss it approximates.

Synthetic graphs of N nodes (uniform random pairs, average degree ~10, symmetrised, with the self-loops and row
normalisation of :func:`graphcl.losses.pamc.pamc_graph`, order 1), embeddings d = 64, K = 16 clusters. Each
(implementation, N) runs in a fresh subprocess, so its peak memory is its own:

* ``pamc-hard`` / ``pamc-soft``: ours (:func:`graphcl.losses.pamc.pamc_loss`), hard (segment sum) and soft (Q^T Z)
  meta-nodes;
* ``reference``: the authors' formulation (PAMC ``NcontrastCCSP``: (E, d) edge gathers, and meta-nodes as an
  N x K x d broadcast product summed over nodes), re-implemented here as the comparison point;
* ``dense``: the dense N x N loss (:func:`graphcl.losses.pamc.influence_contrastive_loss`, Graph-MLP's Ncontrast).

Time: median of ``--reps`` forward+backward passes after one untimed pass. Memory: peak resident set size added
by one forward+backward pass (Linux ``VmHWM`` reset through ``/proc/self/clear_refs``, measured from the RSS with
the inputs built; glibc's mmap threshold is pinned so freed buffers go back to the system). An implementation is
skipped, and the skip printed, where its estimated memory exceeds half of the machine's RAM.

Usage::

    python benchmarks/pamc_scaling.py                       # N = 1e3, 1e4, 1e5, 1e6
    python benchmarks/pamc_scaling.py --sizes 1000 10000 100000 --out benchmarks/results/pamc_scaling.md
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

IMPLS = ("pamc-hard", "pamc-soft", "reference", "dense")
D, K, AVG_DEGREE = 64, 16, 10


def _ram() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimate_bytes(impl: str, n: int) -> int:
    """Rough peak of one forward+backward (float32), used to skip what cannot fit."""
    e = (AVG_DEGREE + 1) * n
    if impl == "dense":
        return 8 * 4 * n * n
    if impl == "reference":
        return 4 * (4 * n * K * D + 6 * e * D)
    return 4 * (6 * n * D + 8 * e + 2 * n * K)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _reference_loss(z, edge_index, edge_weight, labels, tau):
    """The authors' formulation, written from their description (not their code): gathers of (E, d) edge rows and
    meta-nodes as sum over nodes of an (N, K, d) broadcast product."""
    import torch
    import torch.nn.functional as F
    x1, x2 = z[edge_index[0]], z[edge_index[1]]
    cos = (x1 * x2).sum(1) / (x1.pow(2).sum(1).sqrt() * x2.pow(2).sum(1).sqrt())
    cos = cos.masked_fill(edge_index[0] == edge_index[1], 0.0)
    pos = torch.zeros(z.size(0)).scatter_add(0, edge_index[0], torch.exp(tau * cos) * edge_weight)
    cc = torch.sum(z.unsqueeze(1) * F.one_hot(labels, K).unsqueeze(2), dim=0)
    norm = cc.pow(2).sum(1, keepdim=True).sqrt()
    cc_dis = (cc @ cc.t()) / (norm @ norm.t()) * (1 - torch.eye(K))
    neg = torch.exp(tau * cc_dis).sum(1)
    return -torch.log(pos + 1e-10).mean() + torch.log(neg + 1e-10).mean()


def worker(impl: str, n: int, reps: int, seed: int = 0) -> dict:
    import torch

    from graphcl.losses.pamc import influence_contrastive_loss, pamc_graph, pamc_loss

    g = torch.Generator().manual_seed(seed)
    pairs = torch.randint(n, (2, AVG_DEGREE * n // 2), generator=g)
    edge_index, edge_weight = pamc_graph(pairs, n, order=1)
    z = torch.randn(n, D, generator=g, requires_grad=True)
    logits = torch.randn(n, K, generator=g, requires_grad=True)
    labels = logits.detach().argmax(1)
    tau = 0.5

    def step():
        z.grad = None
        logits.grad = None
        if impl == "pamc-hard":
            loss = pamc_loss(z, edge_index, labels, edge_weight, K, tau, "hard")
        elif impl == "pamc-soft":
            loss = pamc_loss(z, edge_index, torch.softmax(logits, 1), edge_weight, K, tau, "soft")
        elif impl == "reference":
            loss = _reference_loss(z, edge_index, edge_weight, labels, tau)
        else:
            loss = influence_contrastive_loss(z, edge_index, edge_weight, tau)
        loss.backward()
        return float(loss.detach())

    import gc
    if n > 64:  # warm-up on a tiny graph: lazy imports and one-time allocations stay out of the measurement
        worker(impl, 64, 0, seed)
    gc.collect()
    rss0 = _status_kb("VmRSS")
    exact = _reset_peak()
    t0 = time.perf_counter()
    value = step()
    first = time.perf_counter() - t0
    peak = _status_kb("VmHWM")  # without the reset this is the process peak (an upper bound)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"impl": impl, "n": n, "edges": int(edge_index.size(1)), "loss": value,
            "seconds": statistics.median(times) if times else first, "first_seconds": first,
            "peak_added_mb": max(0, peak - rss0) / 1024, "peak_exact": exact,
            "threads": torch.get_num_threads()}


def _run_worker(impl: str, n: int, reps: int, threads: int | None, timeout: float) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--worker", impl, str(n), "--reps", str(reps)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "n": n, "skipped": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"impl": impl, "n": n, "skipped": f"failed (exit {proc.returncode}): {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def report(rows: list[dict], header: dict[str, str]) -> str:
    lines = ["# PamC loss scaling: forward + backward", ""] + [f"- {k}: {v}" for k, v in header.items()] + [""]
    lines += ["| N | edges | impl | time (s) | peak added (MB) | loss |", "|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['n']:.0e} | - | {r['impl']} | skipped: {r['skipped']} | - | - |")
        else:
            lines.append(f"| {r['n']:.0e} | {r['edges']} | {r['impl']} | {r['seconds']:.4f} | "
                         f"{r['peak_added_mb']:.1f} | {r['loss']:.4f} |")
    lines += ["", "Ratios against pamc-hard (time / memory; >1 means ours is cheaper):", "",
              "| N | reference / ours | dense / ours | pamc-soft / pamc-hard |", "|---|---|---|---|"]
    for n in dict.fromkeys(r["n"] for r in rows):
        by = {r["impl"]: r for r in rows if r["n"] == n and "skipped" not in r}
        ours = by.get("pamc-hard")

        def cell(impl: str) -> str:
            other = by.get(impl)
            if not ours or not other:
                return "skipped"
            return (f"{_fmt_ratio(other['seconds'], ours['seconds'])} / "
                    f"{_fmt_ratio(other['peak_added_mb'], ours['peak_added_mb'])}")
        lines.append(f"| {n:.0e} | {cell('reference')} | {cell('dense')} | {cell('pamc-soft')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000, 1_000_000])
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--reps", type=int, default=3, help="timed passes after the first (default 3; 1 above 1e5)")
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the workers (default: torch's)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per worker")
    p.add_argument("--out", help="write the Markdown report here (atomically)")
    p.add_argument("--worker", nargs=2, metavar=("IMPL", "N"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.reps)))
        return 0
    from graphcl.bench.report import publish, run_header
    header = run_header("benchmarks/pamc_scaling.py", argv,
                        setup=f"d = {D}, K = {K}, average degree ~{AVG_DEGREE} (+ self-loops), tau = 0.5, float32, CPU")
    rows = []
    for n in args.sizes:
        for impl in args.impls:
            need = estimate_bytes(impl, n)
            if need > 0.5 * _ram():
                row = {"impl": impl, "n": n, "skipped": f"would need ~{need / 2 ** 30:.0f} GiB "
                                                      f"(> half of {_ram() / 2 ** 30:.0f} GiB RAM)"}
            else:
                row = _run_worker(impl, n, args.reps if n <= 100_000 else 1, args.threads, args.timeout)
            rows.append(row)
            msg = row.get("skipped") or f"{row['seconds']:.4f} s, +{row['peak_added_mb']:.1f} MB"
            print(f"N={n:>8d} {impl:10s} {msg}", flush=True)
    publish(report(rows, header), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
