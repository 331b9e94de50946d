"""Backend selection for the kernels in :mod:`graphcl.kernels`.

Rule: ``backend="auto"`` uses Triton for CUDA tensors when :mod:`triton` imports and the
dtype is one the Triton kernels serve on a GPU (fp32, fp16, bf16), and the torch reference
otherwise (CPU tensors, float64, no Triton). ``backend="triton"`` forces the Triton kernels,
which on CPU tensors only works under ``TRITON_INTERPRET=1``; ``backend="torch"`` forces the
reference. The environment variable ``GRAPHCL_KERNELS_BACKEND`` (``auto``/``triton``/``torch``)
supplies the default when ``backend`` is ``None``.
"""
from __future__ import annotations

import functools
import os

import torch
from torch import Tensor

BACKENDS = ("auto", "triton", "torch")
ENV_VAR = "GRAPHCL_KERNELS_BACKEND"
_GPU_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """Whether :mod:`triton` imports (cached)."""
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def interpret_mode() -> bool:
    """Whether ``TRITON_INTERPRET=1`` is set (Triton then runs kernels on CPU tensors)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "yes", "on")


def interpreter_active() -> bool:
    """Whether Triton kernels really run in the interpreter in this process.

    Triton decorates its own ``tl`` helpers (``tl.max``, ``tl.sum``...) when it is first
    imported, so ``TRITON_INTERPRET=1`` must be set before the first ``import triton``
    (note that ``torch_geometric`` imports triton).
    """
    if not (interpret_mode() and triton_available()):
        return False
    import triton.language as tl
    from triton.runtime.interpreter import InterpretedFunction
    return isinstance(tl.max, InterpretedFunction)


def resolve_backend(backend: str | None, x: Tensor) -> str:
    """Return ``"triton"`` or ``"torch"`` for an op whose main input is ``x``."""
    if backend is None:
        backend = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if backend not in BACKENDS:
        raise ValueError(f"Expected 'backend' to be one of {BACKENDS} (got {backend!r})")
    if backend == "torch":
        return "torch"
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend='triton' was requested but 'triton' does not import; "
                               "install triton or use backend='torch'")
        if not x.is_cuda and not interpreter_active():
            raise RuntimeError("backend='triton' on CPU tensors needs the environment variable "
                               "TRITON_INTERPRET=1 set before triton is first imported "
                               "(torch_geometric imports triton)")
        return "triton"
    # auto
    if x.is_cuda and x.dtype in _GPU_DTYPES and triton_available():
        return "triton"
    return "torch"
