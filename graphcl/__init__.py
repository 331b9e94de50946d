"""graphcl: contrastive learning on graphs."""
from __future__ import annotations

import importlib
from typing import Any, Callable


def _lazy_exports(package: str, namespace: dict[str, Any], exports: dict[str, str]
                  ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for ``package``: each name of ``exports`` (name -> relative module)
    is imported from its module on first access and then kept in ``namespace`` (the package's globals). Packages use
    it so that ``graphcl --help`` and ``graphcl list`` import neither torch nor PyG (seconds)."""
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
