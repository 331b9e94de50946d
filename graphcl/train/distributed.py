"""Multi-process training on ``torch.distributed``: the process group from ``torchrun``'s environment, this
process's place in it, an all-gather that carries gradients, and rank 0's values and decisions handed to every
rank (one output folder, one checkpoint writer).

``torchrun --nproc_per_node N -m graphcl train ...`` starts N processes and sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each; :func:`init_from_env` joins them into one process group
(NCCL when CUDA is available, Gloo otherwise). Without those variables (or with ``WORLD_SIZE=1``) nothing is
initialised and every helper below answers as for a single process, so the same code runs with and without
``torchrun``. Gradients are averaged by :class:`torch.nn.parallel.DistributedDataParallel`; nothing here
re-implements a collective.
"""
from __future__ import annotations

import os
import socket
from typing import Callable, Sequence, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["free_port", "share_sizes",
           "init_from_env", "is_distributed", "rank", "local_rank", "world_size", "is_main_process",
           "device_for_rank", "gather_with_grad", "broadcast_object", "run_on_main", "barrier", "shutdown"]

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that nothing listens on now (the OS's choice for port 0): a ``MASTER_PORT`` for
    processes started by the caller rather than by torchrun."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def share_sizes(total: int, parts: int) -> list[int]:
    """Rows of each of ``parts`` ranks in a global batch of ``total`` rows, split contiguously in rank order: an
    even split, the first ranks one more when uneven (``numpy.array_split``'s sizes)."""
    return [total // parts + (r < total % parts) for r in range(parts)]


def is_distributed() -> bool:
    """Whether a process group with more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's global rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def local_rank() -> int:
    """This process's rank on its machine (``LOCAL_RANK`` set by torchrun; 0 otherwise)."""
    return int(os.environ.get("LOCAL_RANK", 0))


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0: the process that writes checkpoints, logs and outputs."""
    return rank() == 0


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that ``torchrun`` describes in the environment; returns whether one is in use.

    Does nothing (and returns ``False``) when ``WORLD_SIZE`` is unset or 1. ``backend`` defaults to ``nccl`` when
    CUDA is available and ``gloo`` otherwise. Calling it again in an initialised process is a no-op.

    Raises:
        ValueError: ``WORLD_SIZE`` is set but ``RANK`` is not (a launcher other than torchrun), or an unknown
            backend.
    """
    size = int(os.environ.get("WORLD_SIZE", 1))
    if size <= 1:
        return False
    if dist.is_initialized():
        return True
    if "RANK" not in os.environ:
        raise ValueError(f"WORLD_SIZE={size} is set but RANK is not: launch with torchrun (it sets RANK, "
                         f"LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend not in ("nccl", "gloo"):
        raise ValueError(f"Unknown distributed backend '{backend}': expected nccl or gloo")
    if backend == "nccl":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend=backend)
    return True


def device_for_rank(device: str | torch.device) -> torch.device:
    """The device this rank trains on: ``cuda`` becomes ``cuda:<LOCAL_RANK>`` in a process group, others stay."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", local_rank())
    return device


def gather_with_grad(x: Tensor, sizes: Sequence[int] | None = None) -> Tensor:
    """Concatenate ``x`` of every rank along dim 0, in rank order, with gradients flowing back to each rank's part.

    Uses ``torch.distributed._functional_collectives.all_gather_single`` (what torch 2.13 names in place of the
    deprecated ``torch.distributed.nn.functional.all_gather``; its backward is a sum reduce-scatter, so each rank's
    part gets the sum of the gradients that all ranks send it, and a loss computed from the gathered tensor on every
    rank, then averaged by DDP, has the gradient of the one-process loss over the global batch). Every rank must pass
    the same shape, unless ``sizes`` gives the number of rows of every rank's ``x`` (known to all ranks, e.g. from a
    shared split of the global batch): the parts are then padded to the longest for the collective and cut back after
    it. Without a process group: ``x``.

    Raises:
        ValueError: ``sizes`` does not have one entry per rank, or its entry for this rank is not ``len(x)``.
    """
    if not is_distributed():
        return x
    from torch.distributed._functional_collectives import all_gather_single, wait_tensor

    def gather(part: Tensor) -> Tensor:  # every rank's ``part`` (same shape on all), concatenated along dim 0
        return wait_tensor(all_gather_single(part.contiguous(), 0, dist.group.WORLD))

    if sizes is None:
        return gather(x)
    if len(sizes) != world_size() or sizes[rank()] != x.shape[0]:
        raise ValueError(f"Expected 'sizes' to give the rows of each of the {world_size()} ranks, {x.shape[0]} for "
                         f"rank {rank()} (got {list(sizes)})")
    longest = max(sizes)
    padded = torch.cat([x, x.new_zeros((longest - x.shape[0], *x.shape[1:]))]) if x.shape[0] < longest else x
    parts = gather(padded).unflatten(0, (world_size(), longest))
    return torch.cat([part[:n] for part, n in zip(parts, sizes)], dim=0)


def broadcast_object(obj: T) -> T:
    """Rank 0's ``obj`` on every rank (picklable; ``obj`` itself without a process group): a value that only rank 0
    may choose, such as a time-stamped output folder or a decision to stop."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run_on_main(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` run by rank 0 alone, its result given to every rank; an exception it raises is
    raised on every rank, so all of them stop together instead of waiting for rank 0 in the next collective.

    For the file-system steps that must happen once (checking and creating an output folder).
    """
    if not is_distributed():
        return fn(*args, **kwargs)
    result, error = None, None
    if is_main_process():
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # handed to every rank below, raised there
            error = err
    result, error = broadcast_object((result, error))
    if error is not None:
        raise error
    return result


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if is_distributed():
        dist.barrier()


def shutdown() -> None:
    """Leave the process group, if one is initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
