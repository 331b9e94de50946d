"""Raw files' integrity: checksums against the registry, and the fingerprint that keys every processed cache.

A processed cache (PyG's ``processed/`` folder, the SDCN and ADGC ``.pt`` files) is only valid for the raw files it
was built from, so its location is keyed on the data root and on every raw file's size and SHA-256: a truncated,
replaced or moved file gets its own cache instead of reusing (or poisoning) another one.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .registry import DatasetInfo

_CHUNK = 1 << 20
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, so a process hashes a file once


class ChecksumError(ValueError):
    """A raw file differs from the published one (its SHA-256 is not the registry's)."""


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file (memoised per path, size and modification time)."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def check_raw_files(info: DatasetInfo, folder: Path) -> None:
    """Raise :class:`ChecksumError` (one line: the file and both digests) for a raw file whose SHA-256 is not the
    registry's. Files without a published digest are not checked."""
    for name, expected in info.sha256.items():
        path = folder / name
        if path.exists():
            got = sha256_file(path)
            if got != expected.lower():
                raise ChecksumError(
                    f"Dataset '{info.name}': {path} is not the published file (sha256 {got}, expected {expected}; "
                    f"{path.stat().st_size} bytes): a truncated or altered download? Replace it with the file from "
                    f"{info.source}")


def raw_fingerprint(info: DatasetInfo, folder: Path) -> str:
    """A short key for the data root and the raw files' names, sizes and SHA-256 (the cache's folder name)."""
    h = hashlib.sha256(str(Path(folder).resolve()).encode())
    for name in info.raw_files:
        path = folder / name
        h.update(f"\0{name}\0{path.stat().st_size}\0{sha256_file(path)}".encode())
    return h.hexdigest()[:16]
