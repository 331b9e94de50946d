"""Shared helpers for tests/kernels (imported by basename; pytest puts this folder on sys.path)."""
import pytest
import torch

from graphcl.kernels import triton_available
from graphcl.kernels._backend import interpret_mode

requires_cuda = pytest.mark.skipif(
    not (torch.cuda.is_available() and triton_available()) or interpret_mode(),
    reason="needs a CUDA device, triton, and compiled (not interpreted) kernels")

# tolerance for a result in `dtype` compared with an fp64 sum of magnitude ~scale
TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def assert_close_to(out: torch.Tensor, exact: torch.Tensor, dtype: torch.dtype) -> None:
    """``out`` (in ``dtype``) is within the rounding of one cast of the fp64 ``exact``."""
    assert out.dtype == dtype
    scale = exact.abs().clamp(min=1.0)
    err = ((out.double() - exact) / scale).abs().max().item() if out.numel() else 0.0
    assert err <= TOL[dtype], f"relative error {err} above {TOL[dtype]} for {dtype}"
