"""The training loop: epochs with a progress bar, atomic checkpoints, and resume."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm.auto import tqdm

from .distributed import barrier, broadcast_object, is_main_process
from .io import write_torch
from .precision import matmul_precision

CHECKPOINT_NAME = "checkpoint.pt"


CHECKPOINT_KEYS = ("epoch", "method", "torch_rng", "losses")


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit` (our own file, so full unpickling is safe).

    A missing file is a ``FileNotFoundError``; a truncated or unreadable file, or a file that is not a graphcl
    checkpoint, a one-line ``ValueError`` naming it."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}: nothing to resume")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated zip, foreign pickle, ...
        reason = (str(err).splitlines() or [""])[0][:200]
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupt? {type(err).__name__}: "
                         f"{reason})") from err
    if not isinstance(checkpoint, dict) or not set(CHECKPOINT_KEYS) <= set(checkpoint):
        found = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(f"{path} is not a graphcl checkpoint (expected the keys {list(CHECKPOINT_KEYS)}, "
                         f"found {found})")
    return checkpoint


def _denormals_flushed() -> bool:
    """Whether CPU float arithmetic currently flushes subnormal numbers to zero (torch has no getter)."""
    return bool(torch.tensor([1e-39], dtype=torch.float32).mul(1.0).item() == 0.0)


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU (``torch.set_flush_denormal``) inside the block, then restore.

    Long runs drive some weights and Adam moments into the subnormal range (below 1.2e-38), where x86 arithmetic is
    many times slower: CSGCL on Photo went from 2.1 to 9.9 s per epoch after 1,700 epochs (1 thread). Flushing
    changes only values below that range. Worker threads keep their own flag: see
    :func:`flush_denormals_process_wide`."""
    before = _denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def flush_denormals_process_wide() -> None:
    """Flush subnormal floats to zero for the rest of the process, worker threads included.

    The flag is per thread; torch's OpenMP workers copy it from the main thread when they are created, so call this
    at the start of a process, before the first parallel torch operation (``graphcl train``, the clustering
    benchmark and ``benchmarks/node_classification.py`` do). :func:`flush_denormals` alone reaches only the main
    thread: CSGCL on Photo at 2 threads ran 3.1 s per epoch with it and 0.9 s with this."""
    torch.set_flush_denormal(True)


def setup_process(threads: int) -> None:
    """Start of a process that trains (a benchmark or one of its worker processes): flush subnormals process-wide
    (:func:`flush_denormals_process_wide`, before torch starts its worker threads), then use ``threads`` torch CPU
    threads."""
    flush_denormals_process_wide()
    torch.set_num_threads(threads)


def nonfinite_loss_message(method: Any, epoch: int, precision: str = "highest") -> str:
    """Why training stopped on a NaN or infinite loss at ``epoch``, on one line.

    When the method's input graph (``method.data``) holds NaN or infinite values, the message names each such
    tensor with its count of non-finite entries: the cause is the data, not the hyper-parameters. Otherwise it
    names the config keys to change: ``lr`` (with its value) and, when not ``highest``, ``matmul_precision``."""
    data = getattr(method, "data", None)
    bad = [f"data.{key} holds {int((~torch.isfinite(value)).sum())} NaN or infinite entries (of {value.numel()})"
           for key, value in (data.items() if hasattr(data, "items") else ())
           if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        return (f"{method.name}: the loss is not finite at epoch {epoch} because the input is not: {'; '.join(bad)}. "
                f"Replace or remove those values (graphcl.data.validate_graph checks a graph before training)")
    hints = [f"lower 'lr' (now {method.config['lr']})"] if "lr" in method.config else []
    if precision != "highest":
        hints.append(f"set 'matmul_precision' to highest (now {precision})")
    return (f"{method.name}: the loss became NaN or infinite at epoch {epoch}"
            + (f"; {' or '.join(hints)}" if hints else ""))


def fit(method, epochs: int, out_dir: str | os.PathLike | None = None, checkpoint: dict[str, Any] | None = None,
        checkpoint_every: int = 50, progress: bool = True, precision: str = "highest",
        max_seconds: float | None = None) -> list[float]:
    """Train ``method`` for ``epochs`` epochs (counted from 1), returning the loss of every epoch.

    With ``out_dir`` a checkpoint (model, optimiser, augmentation generator, torch RNG, losses so far) is written
    atomically every ``checkpoint_every`` epochs and after the last one. Passing a loaded ``checkpoint`` continues
    from its epoch with the same random streams, so an interrupted run resumes where it stopped. Subnormal floats
    are flushed to zero while it trains (:func:`flush_denormals`), and float32 matrix products run at ``precision``
    (:func:`matmul_precision`; ``highest``, exact float32, by default). With ``max_seconds`` training stops after
    the first epoch that ends past that many seconds (counted from this call), with a checkpoint of that epoch: a
    time budget, met in whole epochs (``len(losses)`` tells how many were trained). A checkpoint also holds
    ``train_seconds``, the training time of all segments up to its epoch. A loss that is not finite stops training
    with a one-line ``FloatingPointError`` (:func:`nonfinite_loss_message`).

    Under a process group (``torchrun``) every rank trains, rank 0 alone writes the checkpoints and shows the
    progress bar, and rank 0's clock decides when the time budget is spent (every rank stops after the same epoch);
    every rank returns once the last checkpoint is written.
    """
    if epochs < 0:
        raise ValueError(f"'epochs' must be >= 0 (got {epochs})")
    losses: list[float] = []
    start = 1
    seconds_before = 0.0
    if checkpoint is not None:
        seconds_before = float(checkpoint.get("train_seconds", 0.0))
        method.load_state_dict(checkpoint["method"])
        torch.set_rng_state(checkpoint["torch_rng"])
        losses = list(checkpoint["losses"])
        start = int(checkpoint["epoch"]) + 1

    def save(epoch: int) -> None:
        if out_dir is not None and is_main_process():
            write_torch(Path(out_dir) / CHECKPOINT_NAME,
                        {"epoch": epoch, "method": method.state_dict(), "torch_rng": torch.get_rng_state(),
                         "losses": losses, "config": method.config,
                         "train_seconds": seconds_before + time.perf_counter() - started})

    bar = tqdm(range(start, epochs + 1), desc=method.name, disable=not progress or not is_main_process(),
               leave=False, initial=start - 1, total=epochs)
    started = time.perf_counter()
    with flush_denormals(), matmul_precision(precision):
        for epoch in bar:
            try:
                losses.append(method.train_epoch(epoch))
            except FloatingPointError as err:  # the method's non-finite loss, before its optimiser step
                raise FloatingPointError(nonfinite_loss_message(method, epoch, precision)) from err
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            over_budget = max_seconds is not None and broadcast_object(time.perf_counter() - started > max_seconds)
            if epoch % checkpoint_every == 0 or epoch == epochs or over_budget:
                save(epoch)
            if over_budget:
                break
    bar.close()
    barrier()
    return losses
