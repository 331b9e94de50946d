"""``load_graph(name, root=None)``: the one entry point that turns a registry name into a PyG ``Data``."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import Amazon, Coauthor, Planetoid, WikiCS
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from .integrity import ChecksumError, check_raw_files, raw_fingerprint
from .registry import DatasetInfo, dataset_info
from .root import cache_dir, data_root, offline
from .synthetic import csbm

_PYG_CLASSES = {"planetoid": Planetoid, "amazon": Amazon, "coauthor": Coauthor, "wikics": WikiCS}


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset's raw files are absent and cannot be downloaded."""


def _missing(info: DatasetInfo, folder: Path) -> list[str]:
    return [f for f in info.raw_files if not (folder / f).exists()]


def _not_found(info: DatasetInfo, folder: Path, missing: list[str], reason: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"Dataset '{info.name}' not found: expected {', '.join(missing)} under {folder} ({reason}). "
        f"Get the files from {info.source} and place them there, point --root or $GRAPHCL_DATA at a folder "
        f"that holds <{info.folder}/...>, or allow downloads (unset GRAPHCL_OFFLINE) for datasets PyG can fetch.")


def _redirected(base: type) -> type:
    """A PyG dataset class whose raw files live in the (read-only) data root and processed files in the cache.

    The processed folder is decided on first use, after PyG's download step: ``processed_dir_for()`` checks the raw
    files against the registry's checksums and returns a folder keyed on their fingerprint."""

    class Redirected(base):  # type: ignore[misc, valid-type]
        def __init__(self, raw_dir: str, processed_dir_for, **kwargs):
            self._raw_dir, self._processed_dir_for, self._processed_dir = raw_dir, processed_dir_for, None
            super().__init__(**kwargs)

        @property
        def raw_dir(self) -> str:
            return self._raw_dir

        @property
        def processed_dir(self) -> str:
            if self._processed_dir is None:
                self._processed_dir = str(self._processed_dir_for())
            return self._processed_dir

    Redirected.__name__ = base.__name__
    return Redirected


def _processed_dir(info: DatasetInfo, folder: Path, *parts: str) -> Path:
    """Check the raw files, then the cache folder keyed on the root and the raw files' sizes and digests."""
    check_raw_files(info, folder)
    return cache_dir(*parts, info.name, raw_fingerprint(info, folder))


def _load_pyg(info: DatasetInfo, folder: Path, download: bool) -> Data:
    missing = _missing(info, folder)
    if missing and not download:
        raise _not_found(info, folder, missing, "downloads are disabled")
    cls = _redirected(_PYG_CLASSES[info.loader])
    kwargs = {"root": str(cache_dir("pyg")), "raw_dir": str(folder / "raw"),
              "processed_dir_for": lambda: _processed_dir(info, folder, "pyg") / "processed"}
    if info.loader != "wikics":
        kwargs["name"] = info.name
    else:
        kwargs["is_undirected"] = True  # PyG's default, stated (it warns otherwise)
    try:
        dataset = cls(**kwargs)
    except ChecksumError:
        raise
    except Exception as err:  # network or permission failure while downloading
        if missing:
            raise _not_found(info, folder, missing, f"download failed: {err}") from err
        raise
    return dataset[0]


def _edges_from_pairs(pairs: np.ndarray, num_nodes: int) -> torch.Tensor:
    edge_index = torch.as_tensor(pairs.T, dtype=torch.long).contiguous()
    edge_index, _ = remove_self_loops(edge_index)
    return coalesce(to_undirected(edge_index, num_nodes=num_nodes), num_nodes=num_nodes)


def _read_sdcn(info: DatasetInfo, folder: Path) -> Data:
    stem = Path(info.raw_files[0]).stem
    x = torch.as_tensor(np.loadtxt(folder / f"{stem}.txt", dtype=np.float32))
    y = torch.as_tensor(np.loadtxt(folder / f"{stem}_label.txt", dtype=np.int64))
    pairs = np.loadtxt(folder / f"{stem}_graph.txt", dtype=np.int64).reshape(-1, 2)
    return Data(x=x, edge_index=_edges_from_pairs(pairs, x.shape[0]), y=y)


def _read_adgc(info: DatasetInfo, folder: Path) -> Data:
    stem = Path(info.raw_files[0]).stem
    arrays = {}
    with zipfile.ZipFile(folder / info.raw_files[0]) as archive:
        for member in archive.namelist():
            base = os.path.basename(member)
            for part in ("feat", "label", "adj"):
                if base == f"{stem}_{part}.npy":
                    arrays[part] = np.load(io.BytesIO(archive.read(member)))
    if set(arrays) != {"feat", "label", "adj"}:
        raise ValueError(f"{folder / info.raw_files[0]} must hold {stem}_feat.npy, {stem}_label.npy and "
                         f"{stem}_adj.npy (found {sorted(arrays)})")
    x = torch.as_tensor(arrays["feat"], dtype=torch.float32)
    pairs = np.argwhere(arrays["adj"] != 0)
    return Data(x=x, edge_index=_edges_from_pairs(pairs, x.shape[0]), y=torch.as_tensor(arrays["label"]).long())


_READERS = {"sdcn": _read_sdcn, "adgc": _read_adgc}


def _load_files(info: DatasetInfo, folder: Path) -> Data:
    missing = _missing(info, folder)
    if missing:
        raise _not_found(info, folder, missing, "these files cannot be downloaded automatically")
    cached = _processed_dir(info, folder, "graphs") / "data.pt"
    if cached.exists():
        return torch.load(cached, weights_only=False)
    data = _READERS[info.loader](info, folder)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    torch.save(data, tmp)
    os.replace(tmp, cached)
    return data


def dataset_available(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether the dataset's raw files are all present under the data root (``synthetic``: always)."""
    info = dataset_info(name)
    if info.folder is None:
        return True
    return not _missing(info, data_root(root) / info.folder)


def validate_graph(data: Data, name: str = "graph") -> Data:
    """Reject graphs the methods cannot train on, naming the problem."""
    if data.num_nodes is None or data.num_nodes == 0:
        raise ValueError(f"{name}: the graph has no nodes")
    if data.edge_index is None or data.edge_index.numel() == 0:
        raise ValueError(f"{name}: the graph has no edges")
    if data.edge_index.min() < 0 or data.edge_index.max() >= data.num_nodes:
        raise ValueError(f"{name}: edge_index holds node ids outside [0, {data.num_nodes - 1}] "
                         f"(min {int(data.edge_index.min())}, max {int(data.edge_index.max())})")
    if data.x is None:
        raise ValueError(f"{name}: the graph has no node features 'x'")
    if not torch.isfinite(data.x).all():
        bad = int((~torch.isfinite(data.x)).any(dim=1).sum())
        raise ValueError(f"{name}: node features contain NaN or infinite values in {bad} rows")
    return data


def load_graph(name: str, root: str | os.PathLike | None = None, download: bool | None = None, **kwargs) -> Data:
    """Load a registered graph dataset as a PyG ``Data`` (nodes in the source's order).

    Args:
        name: a registry name (``graphcl list`` shows them), e.g. ``"Cora"``, ``"Photo"``, ``"acm"``, ``"synthetic"``.
        root: the data root; default ``$GRAPHCL_DATA``, else the repository's ``datasets/``.
        download: let PyG download missing raw files (default: yes unless ``GRAPHCL_OFFLINE=1``).
        **kwargs: generator options for ``synthetic`` (see :func:`graphcl.data.synthetic.csbm`).
    """
    info = dataset_info(name)
    if info.loader == "synthetic":
        data = csbm(**kwargs)
    else:
        if kwargs:
            raise ValueError(f"Dataset '{info.name}' takes no options (got {sorted(kwargs)})")
        folder = data_root(root) / info.folder
        if info.loader in _PYG_CLASSES:
            data = _load_pyg(info, folder, download=not offline() if download is None else download)
        else:
            data = _load_files(info, folder)
    data.name = info.name
    return validate_graph(data, info.name)
