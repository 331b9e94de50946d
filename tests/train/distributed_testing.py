"""Run a test function in several local processes joined by a Gloo process group (CPU, no torchrun).

``run_in_processes(fn, 2, *args)`` spawns two processes, sets torchrun's environment variables in each (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` on a free port), joins them with
``init_process_group("gloo", timeout=60 s)`` and returns what ``fn(*args)`` returned on each rank, in rank order.
``fn`` must be a module-level function and return picklable values (NumPy arrays or lists rather than tensors). The
processes are forked from a fresh server process that imported torch and graphcl's methods once for the whole test
session (``forkserver``: no copy of the test runner's threads, no import per process). A failing rank fails the
test with its traceback; a run that does not finish in ``timeout`` seconds is stopped and fails the test, so a
collective that waits forever cannot hang the suite.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
import traceback
from datetime import timedelta
from typing import Any, Callable

import torch
import torch.distributed as dist

from graphcl.train.distributed import free_port

PRELOAD = ["torch", "torch.distributed", "torch_geometric", "graphcl.methods", "graphcl.train"]


def _worker(rank: int, world: int, port: int, fn: Callable[..., Any], args: tuple, results) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=60))
        results.put((rank, True, fn(*args)))
    except BaseException:  # reported to the parent, which fails the test with it
        results.put((rank, False, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_in_processes(fn: Callable[..., Any], world: int, *args: Any, timeout: float = 120.0) -> list[Any]:
    """``fn(*args)`` on ``world`` Gloo processes; each rank's return value, in rank order."""
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # read when the server starts: the first call of the session
    results = context.Queue()
    port = free_port()
    processes = [context.Process(target=_worker, args=(r, world, port, fn, args, results), daemon=True)
                 for r in range(world)]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout
    outputs: dict[int, Any] = {}
    try:
        while len(outputs) < world:
            try:
                rank, ok, value = results.get(timeout=max(deadline - time.monotonic(), 0.1))
            except queue.Empty:
                raise TimeoutError(f"{fn.__name__} on {world} processes did not finish in {timeout} s "
                                   f"(ranks done: {sorted(outputs)})") from None
            if not ok:
                raise RuntimeError(f"rank {rank} of {world} failed:\n{value}")
            outputs[rank] = value
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()
    return [outputs[r] for r in range(world)]
