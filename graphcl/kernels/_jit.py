"""Lazy ``triton.jit`` keyed by the interpreter mode.

Triton reads ``TRITON_INTERPRET`` when ``triton.jit`` wraps a function, so the kernel bodies are
plain module-level functions that are jitted on first use, once per mode. Setting
``TRITON_INTERPRET=1`` any time before the first Triton call is therefore enough.
"""
from __future__ import annotations

from typing import Callable

from ._backend import interpret_mode

_CACHE: dict[tuple[str, str, bool], object] = {}


def jitted(fn: Callable) -> object:
    """Return ``triton.jit(fn)`` for the current ``TRITON_INTERPRET`` mode (cached)."""
    key = (fn.__module__, fn.__qualname__, interpret_mode())
    kernel = _CACHE.get(key)
    if kernel is None:
        import triton
        kernel = triton.jit(fn)
        _CACHE[key] = kernel
    return kernel


def sm_count(device) -> int:
    """Number of streaming multiprocessors of a CUDA device (4 for CPU tensors)."""
    import torch
    if getattr(device, "type", str(device)) != "cuda":
        return 4
    return torch.cuda.get_device_properties(device).multi_processor_count


def launch_options(num_warps: int | None, num_stages: int | None) -> dict[str, int]:
    """The Triton launch keywords that were given (``None`` leaves Triton's default)."""
    return {key: v for key, v in (("num_warps", num_warps), ("num_stages", num_stages)) if v is not None}
