"""Forward + backward time of the two-view contrastive losses: the fused two-direction core against the
per-direction log-space path, measured in the same run.

Each loss of :mod:`graphcl.losses` that contrasts every node with every node of both views (``info_nce``, ``dcl``,
``hard_negative_mixing``) goes through :func:`graphcl.losses._contrast.contrast_both`: the fused
:func:`~graphcl.losses._contrast.contrast_pair` (both directions share one ``exp(S_ab / tau)`` block, the
symmetric intra-view blocks are halved, the backward pass is analytic) whenever the exponentials stay in float
range, and :func:`~graphcl.losses._contrast.contrast_rows` (one direction at a time, ``logsumexp`` under autograd)
otherwise. The baseline rows force the second path (``_contrast.pair_supported`` patched to ``False``) on the same
inputs, so the ratio is the fused core's gain; both paths'
losses are printed and must agree.

Inputs: ``torch.randn`` embeddings of ``N`` rows and ``d`` columns (seed 0), ``tau = 0.5``, float32, CPU;
``hard_negative_mixing`` at its defaults (64 hardest negatives, 32 + 16 mixes, generator seed 1). Time: median of
``--reps`` forward+backward passes after one untimed pass, for ``batch_size`` None (the dense blocks kept for the
backward pass) and each ``--batch`` (blocks recomputed, memory ``O(B N)``).

Usage::

    python benchmarks/loss_speed.py --threads 1
    python benchmarks/loss_speed.py --nodes 20000 --dim 128 --out benchmarks/results/loss_speed.md
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import torch

from graphcl.losses import _contrast, dcl, hard_negative_mixing, info_nce

TEMPERATURE = 0.5


def _losses() -> dict[str, Callable[..., torch.Tensor]]:
    return {
        "info_nce": lambda z1, z2, bs: info_nce(z1, z2, TEMPERATURE, bs),
        "dcl": lambda z1, z2, bs: dcl(z1, z2, TEMPERATURE, bs),
        "hard_negative_mixing": lambda z1, z2, bs: hard_negative_mixing(
            z1, z2, TEMPERATURE, batch_size=bs, generator=torch.Generator().manual_seed(1)),
    }


def _time(fn: Callable[[], torch.Tensor], reps: int) -> tuple[float, float]:
    """Median seconds of ``reps`` forward+backward passes after an untimed one, and the loss value."""
    fn().backward()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        loss = fn()
        loss.backward()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), float(loss.detach())


@contextmanager
def per_direction_path() -> Iterator[None]:
    """Make every loss take its per-direction ``logsumexp`` path (``pair_supported`` answers ``False``)."""
    saved = _contrast.pair_supported
    _contrast.pair_supported = lambda *args, **kwargs: False
    try:
        yield
    finally:
        _contrast.pair_supported = saved


def measure(n: int, d: int, batches: list[Optional[int]], reps: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(n, d, generator=g, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, requires_grad=True)
    rows = []
    for name, loss in _losses().items():
        for bs in batches:
            fused = _time(lambda: loss(z1, z2, bs), reps)
            with per_direction_path():
                base = _time(lambda: loss(z1, z2, bs), reps)
            z1.grad = z2.grad = None
            rows.append({"loss": name, "batch": bs, "fused": fused, "base": base})
            print(f"{name:22s} batch={str(bs):5s} fused {fused[0]:.3f} s, per-direction {base[0]:.3f} s, "
                  f"losses {fused[1]:.6f} / {base[1]:.6f}", flush=True)
    return rows


def report(rows: list[dict], header: dict[str, str]) -> str:
    lines = [f"# Two-view loss speed ({header['date']})", ""]
    lines += [f"- {k}: {v}" for k, v in header.items() if k != "date"]
    lines += ["", "| loss | batch_size | fused core, s | per-direction path, s | ratio "
              "| loss (fused / per-direction) |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        (tf, lf), (tb, lb) = r["fused"], r["base"]
        lines.append(f"| {r['loss']} | {r['batch']} | {tf:.3f} | {tb:.3f} | {tf / tb:.2f} | {lf:.6f} / {lb:.6f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=7650, help="rows N (default: 7650, Amazon Photo's size)")
    p.add_argument("--dim", type=int, default=64, help="embedding width d (default: 64, CSGCL's Photo preset)")
    p.add_argument("--batch", type=int, nargs="*", default=[1024], help="row-block sizes besides None")
    p.add_argument("--reps", type=int, default=3, help="timed passes after the first (default: 3)")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--out", help="write the Markdown report here (atomically)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from graphcl.bench.report import publish, run_header
    header = run_header("benchmarks/loss_speed.py", argv,
                        setup=f"N = {args.nodes}, d = {args.dim}, tau = {TEMPERATURE}, float32, CPU, torch.randn "
                              f"inputs (seed 0), median of {args.reps} forward+backward passes")
    rows = measure(args.nodes, args.dim, [None, *args.batch], args.reps)
    publish(report(rows, header), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
