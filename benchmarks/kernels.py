"""Benchmark the aggregation kernels of :mod:`graphcl.kernels` against torch baselines.

Measures, in one run, effective bandwidth (bytes read + written / time) of

* segment sum (meta-node sums), N x d fp32 rows into K segments: device copy, ``index_add_``,
  ``scatter_add_``, one-hot matmul, ``segment_sum`` (ours; plus a small config sweep on CUDA);
* CSR aggregation, E destination-sorted messages into N targets: device copy, ``index_add_``,
  ``torch.segment_reduce`` (sum / mean / max), ``csr_aggregate`` (ours, sum / mean / max);
* end-to-end forward + backward of the PamC loss on a random graph (N = 2M, 10 edges per node), the
  kernels' backend against the torch backend (``GRAPHCL_KERNELS_BACKEND``).

Bytes counted: reads of x (or messages) and of the index (labels / destination index / rowptr)
plus writes of the output (a copy reads and writes x). Ratios are against the baselines of the
same run. Default sizes: N = 20M, d = 64, K = 16; E = 50M, 2M targets, d = 64 (< 5 min on an
H200). ``--smoke`` runs tiny sizes (works on CPU, where "ours" is the torch reference unless
``TRITON_INTERPRET=1``).

Usage::

    python benchmarks/kernels.py --out benchmarks/kernels_h200.md
    python benchmarks/kernels.py --smoke --out /tmp/kernels_smoke.md
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable
from unittest import mock

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from graphcl.kernels import csr_aggregate, segment_sum  # noqa: E402
from graphcl.kernels._backend import ENV_VAR, resolve_backend  # noqa: E402
from graphcl.train import machine_description  # noqa: E402


def timeit(fn: Callable[[], object], device: torch.device, reps: int, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in milliseconds (CUDA events on GPU)."""
    for _ in range(warmup):
        fn()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
    else:
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item() if b.numel() else 0.0


def coordinate_sweep(t: Table, group: str, name: str, launch: Callable[..., torch.Tensor], space: dict,
                     device, reps: int, nbytes: float, base: float, copy_gbs: float, ref: torch.Tensor | None,
                     max_tile: int | None = None, tile_keys: tuple[str, ...] = (), passes: int = 2) -> dict:
    """Greedy search over launch parameters: starting from the first value of each, try every value of
    one parameter with the others fixed at the best so far; two passes. Every configuration is a row
    of the table; the best one is printed and returned."""
    seen: dict[tuple, float] = {}

    def measure(cfg: dict) -> float:
        key = tuple(sorted(cfg.items(), key=lambda kv: kv[0]))
        if key in seen:
            return seen[key]
        seen[key] = float("inf")
        if max_tile and math.prod(cfg[k] for k in tile_keys) > max_tile:
            return seen[key]
        try:
            out = launch(**cfg)
            ms = timeit(lambda: launch(**cfg), device, reps)
        except Exception as exc:  # a configuration can exceed the chip's resources
            print(f"{name} {cfg} failed: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
            return seen[key]
        label = " ".join(f"{k}={v}" for k, v in cfg.items())
        t.add(group, f"ours sweep {name} {label}", ms, nbytes, base, copy_gbs,
              rel_err(out, ref) if ref is not None else None)
        seen[key] = ms
        return ms

    best = {k: v[0] for k, v in space.items()}
    best_ms = measure(best)
    for _ in range(passes):
        for k, values in space.items():
            for v in values:
                cfg = dict(best, **{k: v})
                ms = measure(cfg)
                if ms < best_ms:
                    best, best_ms = cfg, ms
    print(f"BEST {name}: {best} {best_ms:.3f} ms = {nbytes / best_ms / 1e6:,.0f} GB/s", flush=True)
    return best


class Table:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def add(self, group: str, op: str, ms: float, nbytes: float, base_ms: float | None,
            copy_gbs: float | None, err: float | None = None) -> float:
        gbs = nbytes / ms / 1e6
        self.rows.append([group, op, f"{ms:.3f}", f"{gbs:,.0f}",
                          f"{base_ms / ms:.2f}x" if base_ms else "-",
                          f"{100 * gbs / copy_gbs:.0f}%" if copy_gbs else "-",
                          f"{err:.1e}" if err is not None else "-"])
        print(" | ".join(self.rows[-1]), flush=True)
        return gbs

    def markdown(self) -> str:
        head = ["group", "operation", "time (ms)", "GB/s", "speed-up vs index_add_", "% of copy BW",
                "max rel. err vs torch"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def bench_segment_sum(t: Table, n: int, d: int, k: int, device, reps: int, sweep: bool) -> None:
    g = f"segment sum N={n:,} d={d} K={k}"
    x = torch.randn(n, d, device=device)
    labels = torch.randint(0, k, (n,), device=device)
    nbytes = x.numel() * 4 + labels.numel() * 8 + k * d * 4
    buf = torch.empty_like(x)
    ms = timeit(lambda: buf.copy_(x), device, reps)
    copy_gbs = t.add(g, "device copy (read + write x)", ms, 2 * x.numel() * 4, None, None)
    ref = torch.zeros(k, d, device=device, dtype=torch.float64).index_add_(0, labels, x.double()).float()
    base = timeit(lambda: torch.zeros(k, d, device=device).index_add_(0, labels, x), device, reps)
    t.add(g, "torch index_add_", base, nbytes, base, copy_gbs)
    idx = labels.view(-1, 1).expand(-1, d)
    ms = timeit(lambda: torch.zeros(k, d, device=device).scatter_add_(0, idx, x), device, reps)
    t.add(g, "torch scatter_add_", ms, nbytes, base, copy_gbs)
    ms = timeit(lambda: F.one_hot(labels, k).T.to(x.dtype) @ x, device, reps)
    t.add(g, "one_hot(labels).T @ x", ms, nbytes, base, copy_gbs)
    backend = resolve_backend(None, x)
    out = segment_sum(x, labels, k)
    ms = timeit(lambda: segment_sum(x, labels, k), device, reps)
    t.add(g, f"ours segment_sum ({backend})", ms, nbytes, base, copy_gbs, rel_err(out, ref))
    if sweep and backend == "triton":
        from graphcl.kernels._triton_segment_sum import segment_sum_triton
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        space = {"precision": ["bf16x3", "tf32x3", "ieee"], "block_n": [128, 64, 256], "num_warps": [4, 8],
                 "num_stages": [3, 2, 4], "programs": [4 * sms, 2 * sms, 8 * sms, 16 * sms], "block_d": [64, 32]}
        coordinate_sweep(t, g, "segment_sum", lambda **kw: segment_sum_triton(x, labels, k, **kw), space,
                         device, reps, nbytes, base, copy_gbs, ref)
    for dt in (torch.bfloat16,):
        xh = x.to(dt)
        ms = timeit(lambda: segment_sum(xh, labels, k), device, reps)
        nb = xh.numel() * 2 + labels.numel() * 8 + k * d * 2
        t.add(g, f"ours segment_sum bf16 input ({backend})", ms, nb, None, copy_gbs,
              rel_err(segment_sum(xh, labels, k), ref))
    del x, labels, idx, buf


def bench_csr(t: Table, e: int, n: int, d: int, device, reps: int, sweep: bool) -> None:
    g = f"CSR aggregation E={e:,} N={n:,} d={d}"
    m = torch.randn(e, d, device=device)
    index = torch.randint(0, n, (e,), device=device).sort().values
    counts = torch.bincount(index, minlength=n)
    rowptr = torch.zeros(n + 1, dtype=torch.int64, device=device)
    rowptr[1:] = counts.cumsum(0)
    buf = torch.empty_like(m)
    ms = timeit(lambda: buf.copy_(m), device, reps)
    copy_gbs = t.add(g, "device copy (read + write messages)", ms, 2 * m.numel() * 4, None, None)
    nb_index = m.numel() * 4 + e * 8 + n * d * 4
    nb_csr = m.numel() * 4 + (n + 1) * 8 + n * d * 4
    base = timeit(lambda: torch.zeros(n, d, device=device).index_add_(0, index, m), device, reps)
    t.add(g, "torch index_add_ (sorted destinations)", base, nb_index, base, copy_gbs)
    refs = {}
    for red in ("sum", "mean", "max"):
        try:
            refs[red] = torch.segment_reduce(m, "amax" if red == "max" else red, offsets=rowptr,
                                             axis=0, unsafe=True)
            if red == "max":
                refs[red] = torch.where(counts.unsqueeze(-1) > 0, refs[red], 0.0)
            ms = timeit(lambda: torch.segment_reduce(m, "amax" if red == "max" else red, offsets=rowptr,
                                                     axis=0, unsafe=True), device, reps)
            t.add(g, f"torch.segment_reduce {red}", ms, nb_csr, base, copy_gbs)
        except Exception as exc:  # pragma: no cover - depends on the torch build
            print(f"torch.segment_reduce {red} failed: {exc}", flush=True)
    backend = resolve_backend(None, m)
    for red in ("sum", "mean", "max"):
        out = csr_aggregate(m, rowptr, red)
        ms = timeit(lambda: csr_aggregate(m, rowptr, red), device, reps)
        nb = nb_csr  # no grad needed here, so max does not write its argmax
        t.add(g, f"ours csr_aggregate {red} ({backend})", ms, nb, base, copy_gbs,
              rel_err(out, refs[red]) if red in refs else None)
    if sweep and backend == "triton":
        from graphcl.kernels._triton_csr import csr_aggregate_triton
        space = {"block_r": [8, 1, 2, 4, 16, 32], "block_e": [16, 8, 32, 64], "num_warps": [4, 8, 2],
                 "num_stages": [None, 1, 2, 3], "block_d": [64, 32]}
        best = coordinate_sweep(t, g, "csr sum", lambda **kw: csr_aggregate_triton(m, rowptr, "sum", **kw)[0],
                                space, device, reps, nb_csr, base, copy_gbs, refs.get("sum"),
                                max_tile=32768, tile_keys=("block_r", "block_e", "block_d"))
        for red in ("mean", "max"):
            out, _ = csr_aggregate_triton(m, rowptr, red, return_argmax=False, **best)
            ms = timeit(lambda: csr_aggregate_triton(m, rowptr, red, return_argmax=False, **best), device, reps)
            t.add(g, f"ours csr {red} at the best sum config", ms, nb_csr, base, copy_gbs,
                  rel_err(out, refs[red]) if red in refs else None)
    del m, index, rowptr, buf


def bench_e2e(t: Table, n: int, degree: int, d: int, k: int, device, reps: int) -> None:
    """The PamC loss (:func:`graphcl.losses.pamc_loss`, hard meta-nodes), forward + backward, on a random
    graph with ``degree`` out-edges per node sorted by source: the kernels' backend against the torch one."""
    from graphcl.losses.pamc import pamc_loss
    e = n * degree
    g = f"PamC loss fwd+bwd N={n:,} E={e:,} d={d} K={k}"
    z = torch.randn(n, d, device=device).requires_grad_()
    edge_index = torch.stack([torch.arange(n, device=device).repeat_interleave(degree),
                              torch.randint(0, n, (e,), device=device)])
    labels = torch.randint(0, k, (n,), device=device)

    def step(backend: str) -> None:
        os.environ[ENV_VAR] = backend
        z.grad = None
        pamc_loss(z, edge_index, labels, num_clusters=k, tau=0.5).backward()

    with mock.patch.dict(os.environ):  # the backend is chosen through the environment; restored on exit
        step("torch")
        g_ref = z.grad.clone()
        base = timeit(lambda: step("torch"), device, reps)
        nb = 3 * z.numel() * 4 + edge_index.numel() * 8  # at least: read z twice, write its grad, read the edges
        t.add(g, "torch backend (index_add_ / scatter)", base, nb, base, None)
        ours = resolve_backend("auto", z)
        step("auto")
        ms = timeit(lambda: step("auto"), device, reps)
        t.add(g, f"ours ({ours})", ms, nb, base, None, rel_err(z.grad, g_ref))


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="Markdown file for the results table")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (CPU-friendly)")
    p.add_argument("--n", type=int, default=20_000_000, help="rows for the segment sum")
    p.add_argument("--k", type=int, default=16, help="segments")
    p.add_argument("--d", type=int, default=64, help="feature dimension")
    p.add_argument("--edges", type=int, default=50_000_000, help="messages for the CSR aggregation")
    p.add_argument("--targets", type=int, default=2_000_000, help="destination nodes")
    p.add_argument("--e2e-n", type=int, default=2_000_000, help="nodes of the PamC loss's random graph")
    p.add_argument("--e2e-degree", type=int, default=10, help="out-edges per node of that graph")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions (default 10, smoke 5)")
    p.add_argument("--no-sweep", action="store_true", help="skip the Triton config sweep")
    p.add_argument("--skip", nargs="*", default=[], choices=["segment", "csr", "e2e"])
    args = p.parse_args(argv)
    if args.smoke:
        args.n, args.edges, args.targets, args.e2e_n = 20_000, 50_000, 2_000, 2_000
    if args.reps is None:
        args.reps = 5 if args.smoke else 10
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    command = " ".join([Path(sys.executable).name] + sys.argv)
    machine = machine_description("cuda" if torch.cuda.is_available() else "cpu")
    print(f"command: {command}\nmachine: {machine}", flush=True)
    t = Table()
    start = time.time()
    if "segment" not in args.skip:
        bench_segment_sum(t, args.n, args.d, args.k, device, args.reps, not args.no_sweep)
    if "csr" not in args.skip:
        bench_csr(t, args.edges, args.targets, args.d, device, args.reps, not args.no_sweep)
    if "e2e" not in args.skip:
        bench_e2e(t, args.e2e_n, args.e2e_degree, args.d, args.k, device, args.reps)
    try:
        import triton
        tv = triton.__version__
    except Exception:
        tv = "not installed"
    text = (f"# graphcl.kernels benchmark\n\n- command: `{command}`\n- machine: {machine}, triton {tv}\n"
            f"- total wall time: {time.time() - start:.1f} s\n- bytes: reads of x/messages and the "
            f"index + output writes (copy: read + write); fp32 unless stated\n\n{t.markdown()}\n")
    atomic_write(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
