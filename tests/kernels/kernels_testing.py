"""Shared helpers for tests/kernels (imported by basename; pytest puts this folder on sys.path)."""
import pytest
import torch

from graphcl.kernels import triton_available
from graphcl.kernels._backend import interpret_mode

requires_cuda = pytest.mark.skipif(
    not (torch.cuda.is_available() and triton_available()) or interpret_mode(),
    reason="needs a CUDA device, triton, and compiled (not interpreted) kernels")


def old_interpreter_reason() -> str | None:
    """Why Triton's interpreter cannot run these kernels, or ``None`` when it can (Triton >= 3.9).

    Older interpreters mis-handle valid kernels that compile fine on a GPU: 3.6 returns
    reductions as 1-element arrays (a loop bounded by ``tl.max`` fails), 3.7 asserts on fp64
    dots. On such versions the compiled kernels are covered by the ``requires_cuda`` tests.
    """
    if not triton_available():
        return "triton is not installed"
    import triton
    version = tuple(int(p) for p in triton.__version__.split(".")[:2])
    if version < (3, 9):
        return f"Triton {triton.__version__}'s interpreter cannot run these kernels (needs >= 3.9)"
    return None


# tolerance for a result in `dtype` compared with an fp64 sum of magnitude ~scale
TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def assert_close_to(out: torch.Tensor, exact: torch.Tensor, dtype: torch.dtype) -> None:
    """``out`` (in ``dtype``) is within the rounding of one cast of the fp64 ``exact``."""
    assert out.dtype == dtype
    scale = exact.abs().clamp(min=1.0)
    err = ((out.double() - exact) / scale).abs().max().item() if out.numel() else 0.0
    assert err <= TOL[dtype], f"relative error {err} above {TOL[dtype]} for {dtype}"
