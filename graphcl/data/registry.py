"""The dataset registry: every dataset graphcl knows, read from ``registry.yaml``.

``datasets/registry.yaml`` in the repository is the same file (a link), so the registry is both documentation and
the loader's source of truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_REGISTRY_FILE = Path(__file__).with_name("registry.yaml")


@dataclass(frozen=True)
class DatasetInfo:
    """One registry entry."""

    name: str
    loader: str
    folder: str | None
    raw_files: tuple[str, ...]
    source: str
    size: dict[str, Any] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)  # raw file -> published digest (where known)


@lru_cache(maxsize=1)
def registry() -> dict[str, DatasetInfo]:
    """All datasets, by name."""
    entries = yaml.safe_load(_REGISTRY_FILE.read_text())
    return {
        name: DatasetInfo(name=name, loader=e["loader"], folder=e.get("folder"),
                          raw_files=tuple(e.get("raw_files") or ()), source=e.get("source", ""),
                          size=dict(e.get("size") or {}), sha256=dict(e.get("sha256") or {}))
        for name, e in entries.items()
    }


def dataset_names() -> list[str]:
    return list(registry())


def dataset_info(name: str) -> DatasetInfo:
    """Look a dataset up by name (exact, else case-insensitive); unknown names list the valid ones."""
    reg = registry()
    if name in reg:
        return reg[name]
    folded = [n for n in reg if n.lower() == name.lower()]
    if len(folded) == 1:
        return reg[folded[0]]
    raise ValueError(f"Unknown dataset '{name}'. Valid datasets: {', '.join(reg)}")
