"""Where data is read from and where derived files are written.

The data root (raw files) is ``--root``, else the environment variable ``GRAPHCL_DATA``, else the repository's
``datasets/`` folder. A data root is treated as read-only: processed and cached files go to the cache directory,
``GRAPHCL_CACHE`` if set, else ``datasets/cache/`` in the repository (or ``~/.cache/graphcl`` when the package is
installed elsewhere).
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "GRAPHCL_DATA"
CACHE_ENV = "GRAPHCL_CACHE"
OFFLINE_ENV = "GRAPHCL_OFFLINE"

_REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the data root: ``root`` argument, else ``$GRAPHCL_DATA``, else the repository's ``datasets/``."""
    if root is not None:
        return Path(root).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return _REPO_DATASETS


def cache_dir(*parts: str) -> Path:
    """A writable directory for processed files (created on demand)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        base = Path(env).expanduser()
    elif _REPO_DATASETS.is_dir() and os.access(_REPO_DATASETS, os.W_OK):
        base = _REPO_DATASETS / "cache"
    else:
        base = Path.home() / ".cache" / "graphcl"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def offline() -> bool:
    """True when downloads are forbidden (``GRAPHCL_OFFLINE=1``: tests and CI)."""
    return os.environ.get(OFFLINE_ENV, "0") not in ("", "0", "false", "False")
