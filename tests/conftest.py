"""Shared fixtures. Tests never download: GRAPHCL_OFFLINE=1; real data comes from $GRAPHCL_DATA when set
(CI: ../shared/datasets), else from ../shared/datasets beside the repository when it exists."""
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
import torch

os.environ.setdefault("GRAPHCL_OFFLINE", "1")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "GRAPHCL_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["GRAPHCL_DATA"] = str(_SHARED)


# One intra-op thread: the suite's tensors are tiny, and OpenMP threads spinning against each other (or against
# other processes on a 2-core machine) made small scatters 1000x slower.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _subnormals_unflushed_after_each_test():
    """Entry points (``graphcl train``, the clustering benchmark) flush subnormal floats for their whole process;
    tests call them in-process, so the flag is reset after each test (hypothesis refuses to draw floats while it is
    set)."""
    yield
    torch.set_flush_denormal(False)


@pytest.fixture
def load_benchmark():
    """``load_benchmark("loss_speed")`` imports ``benchmarks/loss_speed.py`` (scripts, not a package) as a module."""
    def load(name: str) -> ModuleType:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
