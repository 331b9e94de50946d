"""The float32 matrix-product precision a run trains at (config key ``matmul_precision``).

Importing this module does not import torch: the command line's parser reads :data:`MATMUL_PRECISIONS`.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

MATMUL_PRECISIONS = ("highest", "high", "medium")


def check_matmul_precision(precision: str) -> None:
    if precision not in MATMUL_PRECISIONS:
        raise ValueError(f"Expected 'matmul_precision' to be one of {MATMUL_PRECISIONS} (got {precision!r})")


@contextlib.contextmanager
def matmul_precision(precision: str) -> Iterator[None]:
    """Run the block under ``torch.set_float32_matmul_precision(precision)``, then restore the previous setting.

    ``highest`` computes float32 matrix products in float32 (torch's default). ``high`` and ``medium`` let torch use
    faster internal formats: on CPUs with AMX or AVX512-BF16, ``medium`` rounds the inputs to bfloat16 and
    accumulates in float32 (oneDNN), the CPU counterpart of TF32 on GPUs; CSGCL's epoch on Computers ran 2x faster
    with it (docs/speed.md). Only dense float32 products change; sparse products and elementwise ops do not."""
    import torch

    check_matmul_precision(precision)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)
