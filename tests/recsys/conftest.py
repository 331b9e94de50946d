"""Fixtures of the recsys tests: a tiny slice of ml-100k (shipped in the RecBole wheel) and tiny models."""
import sys
from pathlib import Path

import pytest
import torch

# This folder is named like the package: with pytest's default import mode `tests/` is on sys.path, and if the
# repository root is not (plain `pytest`, or an editable install that predates recsys), `import recsys` would
# resolve to this folder as a namespace package. Put the repository first.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get('recsys'), '__file__', '') is None:  # a namespace package was imported: drop it
    del sys.modules['recsys']

import recsys  # noqa: E402,F401  (applies recsys.compat before RecBole is used)
from recsys.config import build_config  # noqa: E402
from recsys.models import SASRecBackbone  # noqa: E402
from recsys.pipeline import load_data  # noqa: E402
from recsys_testing import TINY  # noqa: E402


@pytest.fixture(autouse=True)
def _single_thread():
    """One intra-op thread per test (the CI machine has two cores shared with other jobs; oversubscribed
    OpenMP threads make these tiny models many times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny():
    """The tiny config dict (a fresh copy)."""
    return dict(TINY)


@pytest.fixture(scope='session')
def tiny_data():
    """``(config, dataset, train, valid, test)`` of the tiny slice, built once."""
    config = build_config(SASRecBackbone, 'ml-100k', dict(TINY))
    return (config,) + tuple(load_data(config))
