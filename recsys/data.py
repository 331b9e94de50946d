r"""Datasets for the sequential recommenders, as RecBole atomic files.

* ``ml-100k`` ships inside the RecBole wheel (``recbole/dataset_example/ml-100k``) and is used in place.
* ``Beauty``, ``Sports_and_Outdoors``, ``Toys_and_Games`` and ``Yelp`` are the 5-core files of the
  CoSeRec / ICLRec / ICSRec line of work, ``<data root>/seqrec/<name>.txt``, one user per line
  (``user item item ...`` in time order). :func:`convert_seqrec` writes them as a RecBole ``.inter`` file
  (``user_id:token``, ``item_id:token``, ``timestamp:float`` = position in the sequence) into a cache folder.

The data root is the environment variable ``GRAPHCL_DATA`` if set, else the first of ``<repo>/datasets`` and
``<repo>/../shared/datasets`` that holds a ``seqrec`` folder. It is only read. The cache is
``<repo>/datasets/cache/recbole`` (environment variable ``RECSYS_CACHE`` overrides it). Files are written
atomically (temporary file + ``os.replace``) and rebuilt only when the source file's SHA-256 or the converter
version changes.

>>> from recsys.data import DATASETS
>>> DATASETS[0]
'ml-100k'
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

__all__ = [
    'DATASETS',
    'SEQREC_DATASETS',
    'INTER_HEADER',
    'cache_dir',
    'convert_seqrec',
    'data_root',
    'dataset_config',
    'resolve_dataset',
]

#: Names of the "user item item ..." files under ``<data root>/seqrec``.
SEQREC_DATASETS = ('Beauty', 'Sports_and_Outdoors', 'Toys_and_Games', 'Yelp')
#: Every dataset name accepted by :func:`dataset_config` (aliases: see :func:`resolve_dataset`).
DATASETS = ('ml-100k',) + SEQREC_DATASETS
_ALIASES = {'sports': 'Sports_and_Outdoors', 'toys': 'Toys_and_Games', 'ml100k': 'ml-100k'}
#: Header of the converted ``.inter`` files.
INTER_HEADER = 'user_id:token\titem_id:token\ttimestamp:float'
_CONVERTER_VERSION = 1
_REPO = Path(__file__).resolve().parents[1]

PathLike = Union[str, os.PathLike]


def resolve_dataset(name: str) -> str:
    r"""Canonical dataset name (case-insensitive; ``Sports`` / ``Toys`` accepted).

    Raises:
        ValueError: naming the valid datasets.
    """
    for candidate in DATASETS:
        if name == candidate or name.lower() == candidate.lower():
            return candidate
    if name.lower() in _ALIASES:
        return _ALIASES[name.lower()]
    raise ValueError(f"Unknown dataset '{name}'. Valid datasets: {', '.join(DATASETS)}")


def data_root() -> Path:
    r"""Folder that holds ``seqrec/`` (read-only): ``$GRAPHCL_DATA``, else ``<repo>/datasets`` or
    ``<repo>/../shared/datasets``, whichever has a ``seqrec`` folder."""
    env = os.environ.get('GRAPHCL_DATA')
    if env:
        return Path(env)
    for candidate in (_REPO / 'datasets', _REPO.parent / 'shared' / 'datasets'):
        if (candidate / 'seqrec').is_dir():
            return candidate
    return _REPO / 'datasets'


def cache_dir() -> Path:
    r"""Where converted atomic files go: ``$RECSYS_CACHE`` or ``<repo>/datasets/cache/recbole``."""
    env = os.environ.get('RECSYS_CACHE')
    return Path(env) if env else _REPO / 'datasets' / 'cache' / 'recbole'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert_seqrec(source: PathLike, out_dir: PathLike, name: Optional[str] = None,
                   force: bool = False) -> Path:
    r"""Convert a ``user item item ...`` file into ``<out_dir>/<name>/<name>.inter`` (RecBole atomic format).

    Each line ``u i_1 ... i_n`` becomes ``n`` rows ``u, i_t, t - 1`` (``timestamp:float`` is the 0-based position,
    so RecBole's time ordering reproduces the file's order). Lines with no items are skipped. A
    ``<name>.source.json`` stamp (source SHA-256, converter version, counts) makes later calls a no-op unless the
    source changed or ``force=True``.

    Args:
        source (path): the ``.txt`` file.
        out_dir (path): RecBole ``data_path``; the dataset folder is created inside it.
        name (str, optional): dataset name. (default: the file's stem)
        force (bool, optional): rebuild even when the stamp matches. (default: :obj:`False`)

    Returns:
        pathlib.Path: the ``.inter`` file.
    """
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"Sequence file not found: '{source}'. Set GRAPHCL_DATA to the folder that "
                                f"holds seqrec/<name>.txt.")
    name = name or source.stem
    folder = Path(out_dir) / name
    inter = folder / f'{name}.inter'
    stamp_path = folder / f'{name}.source.json'
    digest = _sha256(source)
    if not force and inter.is_file() and stamp_path.is_file():
        try:
            stamp = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            stamp = {}
        if stamp.get('sha256') == digest and stamp.get('converter_version') == _CONVERTER_VERSION:
            return inter
    rows = [INTER_HEADER]
    n_users = n_inter = 0
    with open(source, encoding='utf-8') as f:
        for line in f:
            fields = line.split()
            if len(fields) < 2:
                continue
            user, items = fields[0], fields[1:]
            rows.extend(f'{user}\t{item}\t{t}' for t, item in enumerate(items))
            n_users += 1
            n_inter += len(items)
    _atomic_write_text(inter, '\n'.join(rows) + '\n')
    _atomic_write_text(stamp_path, json.dumps({
        'source': str(source), 'sha256': digest, 'converter_version': _CONVERTER_VERSION,
        'users': n_users, 'interactions': n_inter}, indent=1) + '\n')
    return inter


def dataset_config(name: str, root: Optional[PathLike] = None, cache: Optional[PathLike] = None) -> Dict[str, Any]:
    r"""RecBole config entries that point at dataset ``name`` (converting it first if needed).

    Args:
        name (str): one of :data:`DATASETS` (aliases accepted).
        root (path, optional): data root holding ``seqrec/``. (default: :func:`data_root`)
        cache (path, optional): cache folder. (default: :func:`cache_dir`)

    Returns:
        dict: ``dataset`` and, for converted datasets, ``data_path`` and ``load_col``.
    """
    name = resolve_dataset(name)
    if name == 'ml-100k':
        # RecBole points data_path at its own dataset_example folder for this name.
        return {'dataset': name, 'load_col': {'inter': ['user_id', 'item_id', 'timestamp']}}
    root = Path(root) if root is not None else data_root()
    cache = Path(cache) if cache is not None else cache_dir()
    convert_seqrec(root / 'seqrec' / f'{name}.txt', cache, name)
    return {'dataset': name, 'data_path': str(cache), 'load_col': {'inter': ['user_id', 'item_id', 'timestamp']}}
