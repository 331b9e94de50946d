"""Import DGL 2.1 on torch versions it ships no graphbolt library for.

DGL 2.1.0 (its newest wheel for CPython 3.11) loads ``dgl/graphbolt/libgraphbolt_pytorch_<torch>.so`` at import
time, and ships that library only for torch 2.0.0 to 2.2.1: on a newer torch ``import dgl`` fails, although DGL's
core (graphs, message passing with builtin functions, ``dgl.nn`` modules, batching, readout, autograd) does not
need graphbolt. :func:`import_dgl` registers a stand-in ``dgl.graphbolt`` module when the matching library is
absent, so the core imports; touching graphbolt then raises an error that says why. DGL also needs ``torchdata``
(< 0.10, for its datapipes) and ``pandas``; their absence is reported by name.

Usage::

    from graphcl.compat.dgl import import_dgl
    dgl = import_dgl()
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import torch

__all__ = ["import_dgl", "graphbolt_available", "DGLUnavailableError"]


class DGLUnavailableError(ImportError):
    """DGL cannot be imported in this environment (the message says why and how to fix it)."""


def _torch_version() -> str:
    return torch.__version__.split("+")[0]


def _dgl_dir() -> Path | None:
    spec = importlib.util.find_spec("dgl")
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def graphbolt_available() -> bool:
    """Whether the installed DGL ships a graphbolt library for the installed torch."""
    root = _dgl_dir()
    return root is not None and (root / "graphbolt" / f"libgraphbolt_pytorch_{_torch_version()}.so").exists()


def _graphbolt_stub() -> types.ModuleType:
    stub = types.ModuleType("dgl.graphbolt")
    reason = (f"dgl.graphbolt is unavailable: DGL ships no graphbolt library for torch {_torch_version()} "
              f"(graphcl.compat.dgl imported DGL's core without it)")

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise DGLUnavailableError(f"{reason}; '{name}' cannot be used")

    stub.__getattr__ = __getattr__  # type: ignore[attr-defined]
    stub.__path__ = []  # a package, so `import dgl.graphbolt.x` fails cleanly
    return stub


def import_dgl() -> types.ModuleType:
    """Import and return ``dgl``, working around the missing graphbolt library; clear errors otherwise."""
    if "dgl" in sys.modules and hasattr(sys.modules["dgl"], "DGLGraph"):
        return sys.modules["dgl"]
    if _dgl_dir() is None:
        raise DGLUnavailableError("DGL is not installed: pip install 'dgl==2.1.0' 'torchdata<0.10' "
                                  "(or the project's extra: pip install -e '.[dgl]')")
    for needed, hint in (("torchdata", "'torchdata<0.10'"), ("pandas", "'pandas<3'")):
        if importlib.util.find_spec(needed) is None:
            raise DGLUnavailableError(f"DGL needs {needed}: pip install {hint}")
    if importlib.util.find_spec("torchdata.datapipes") is None:
        raise DGLUnavailableError("DGL 2.1 needs torchdata's datapipes, removed in torchdata 0.10: "
                                  "pip install 'torchdata<0.10'")
    if not graphbolt_available():
        sys.modules.setdefault("dgl.graphbolt", _graphbolt_stub())
    try:
        return importlib.import_module("dgl")
    except Exception as err:  # a binary mismatch we cannot work around
        for name in [m for m in sys.modules if m == "dgl" or m.startswith("dgl.")]:
            del sys.modules[name]
        raise DGLUnavailableError(f"DGL failed to import on torch {torch.__version__}: "
                                  f"{err}") from err
