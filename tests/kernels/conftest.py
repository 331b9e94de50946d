"""Fixtures for the kernel tests.

The Triton kernels run on CPU tensors through Triton's interpreter, which needs
``TRITON_INTERPRET=1`` before triton is first imported (Triton decorates its own ``tl`` helpers
at import; ``torch_geometric`` imports triton). This conftest sets it when triton is not loaded
yet and no GPU is present, so ``pytest tests/kernels`` runs the interpreted tests directly. When
triton was already loaded without it (a whole-suite run), the ``interpret`` fixture skips and
``test_interpreter_subprocess.py`` re-runs this folder in a subprocess with the variable set.
On a CUDA machine the compiled kernels are tested by the ``requires_cuda`` tests instead.
"""
import os
import sys

import pytest
import torch

if "triton" not in sys.modules and not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from graphcl.kernels._backend import interpreter_active  # noqa: E402
from kernels_testing import old_interpreter_reason  # noqa: E402


@pytest.fixture
def interpret(monkeypatch):
    """Skip unless Triton kernels run in the interpreter in this process."""
    reason = old_interpreter_reason()
    if reason:
        pytest.skip(reason)
    if not interpreter_active():
        pytest.skip("Triton interpreter not active in this process "
                    "(covered by test_interpreter_subprocess.py)")
    monkeypatch.delenv("GRAPHCL_KERNELS_BACKEND", raising=False)
    yield
