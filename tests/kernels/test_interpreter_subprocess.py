"""Run the interpreted Triton tests in a fresh process when this one cannot (see conftest)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphcl.kernels._backend import interpreter_active

from kernels_testing import old_interpreter_reason

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OLD_INTERPRETER = old_interpreter_reason()


@pytest.mark.skipif(OLD_INTERPRETER is not None, reason=str(OLD_INTERPRETER))
def test_interpreted_kernels_in_subprocess():
    if interpreter_active():
        pytest.skip("the interpreted tests already run in this process")
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("GRAPHCL_KERNELS_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE), "-q", "-p", "no:cacheprovider",
         "-k", "not test_interpreted_kernels_in_subprocess", "-W", "ignore", "-rs"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout, proc.stdout[-2000:]
    assert "interpreter not active" not in proc.stdout, proc.stdout[-2000:]
