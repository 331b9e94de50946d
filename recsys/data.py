r"""Datasets for the sequential recommenders, as RecBole atomic files.

* ``ml-100k`` ships inside the RecBole wheel (``recbole/dataset_example/ml-100k``) and is used in place.
* ``Beauty``, ``Sports_and_Outdoors``, ``Toys_and_Games`` and ``Yelp`` are the 5-core files of the
  CoSeRec / ICLRec / ICSRec line of work, ``<data root>/seqrec/<name>.txt``, one user per line
  (``user item item ...`` in time order). :func:`convert_seqrec` writes them as a RecBole ``.inter`` file
  (``user_id:token``, ``item_id:token``, ``timestamp:float`` = position in the sequence) into a cache folder.

A user's own RecBole atomic files are read from ``data_path`` (:func:`atomic_dataset_dir`): the folder
``<data_path>/<name>/`` (RecBole's layout) or ``<data_path>`` itself, whichever holds ``<name>.inter``.

Malformed lines of a ``.txt`` file (a field that is not a non-negative integer, a user with no items, a user
already seen on an earlier line) are skipped and reported with their line numbers
(:class:`SeqrecFormatWarning`); more than ``max_malformed`` (1%) of the non-blank lines, or any in strict mode,
raise :class:`SeqrecFormatError` instead. Blank lines are ignored.

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
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

__all__ = [
    'DATASETS',
    'SEQREC_DATASETS',
    'INTER_HEADER',
    'SeqrecFormatError',
    'SeqrecFormatWarning',
    'atomic_dataset_dir',
    'check_inter_header',
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
_CONVERTER_VERSION = 2  # 2: malformed lines skipped and reported (1 turned non-integer fields into items)
#: Default share of malformed lines above which :func:`convert_seqrec` fails.
MAX_MALFORMED = 0.01
_INTEGER = re.compile(r'[0-9]+')
_SHOWN = 5  # malformed lines quoted in a message
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
    raise ValueError(f"Unknown dataset '{name}'. Valid datasets: {', '.join(DATASETS)}; or your own RecBole "
                     f"atomic files with --data-path DIR (config key data_path)")


def atomic_dataset_dir(name: str, data_path: PathLike) -> Path:
    r"""The folder that holds a user's ``<name>.inter``: ``<data_path>/<name>/`` (RecBole's layout, checked
    first) or ``<data_path>`` itself.

    Raises:
        ValueError: ``name`` is empty or holds a path separator.
        FileNotFoundError: ``data_path`` is not a folder, or neither place holds ``<name>.inter``.
    """
    if not name or name in ('.', '..') or '/' in name or os.sep in name:
        raise ValueError(f"Expected a dataset name without path separators (got '{name}')")
    root = Path(data_path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_path folder not found: '{root}'")
    for folder in (root / name, root):
        if (folder / f'{name}.inter').is_file():
            return folder
    raise FileNotFoundError(f"'{name}.inter' not found in '{root / name}' nor in '{root}' (RecBole atomic files: "
                            f"<data_path>/{name}/{name}.inter)")


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


def check_inter_header(path: PathLike, fields: Sequence[str]) -> None:
    r"""Check that the header of the atomic file ``path`` (``name:type`` columns) has every field of ``fields``.

    Raises:
        ValueError: naming the file, the missing fields and the header, in one line.
    """
    with open(path, encoding='utf-8') as f:
        header = f.readline().rstrip('\r\n')
    columns = header.split('\t')
    names = [column.split(':', 1)[0] for column in columns]
    missing = [field for field in fields if field not in names]
    if missing:
        hint = (' (sequential models order each user\'s interactions by time: a timestamp:float column, e.g. the '
                'position in the sequence, will do)' if any('time' in m for m in missing) else '')
        tabs = '; columns are separated by tabs' if len(columns) == 1 else ''
        raise ValueError(f"'{path}' has no column {', '.join(repr(m) for m in missing)} (header columns: "
                         f"{', '.join(c[:40] for c in columns[:10])}{tabs}){hint}")


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


class SeqrecFormatWarning(UserWarning):
    r"""Malformed lines of a ``user item item ...`` file were skipped (the message gives their line numbers)."""


class SeqrecFormatError(ValueError):
    r"""Too many malformed lines in a ``user item item ...`` file (or any, in strict mode)."""


def _parse_seqrec(source: Path) -> Tuple[List[str], int, int, int, List[Tuple[int, str]]]:
    """Rows of the ``.inter`` file, users, interactions, non-blank lines and the malformed ``(line, reason)``."""
    rows = [INTER_HEADER]
    seen: Dict[str, int] = {}
    bad: List[Tuple[int, str]] = []
    n_users = n_inter = n_lines = 0
    with open(source, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            n_lines += 1
            wrong = next((x for x in fields if not _INTEGER.fullmatch(x)), None)
            if wrong is not None:
                bad.append((number, f'{wrong[:20]!r} is not a non-negative integer'))
                continue
            user, items = fields[0], fields[1:]
            if not items:
                bad.append((number, f'user {user} has no items'))
                continue
            if user in seen:
                bad.append((number, f'user {user} already on line {seen[user]}'))
                continue
            seen[user] = number
            rows.extend(f'{user}\t{item}\t{t}' for t, item in enumerate(items))
            n_users += 1
            n_inter += len(items)
    return rows, n_users, n_inter, n_lines, bad


def _check_malformed(source: Path, n_lines: int, n_bad: int, bad: List[Tuple[int, str]], strict: bool,
                     max_malformed: float) -> None:
    """Warn about skipped lines, or raise :class:`SeqrecFormatError` past the threshold."""
    if not n_bad:
        return
    shown = '; '.join(f'line {n}: {why}' for n, why in bad[:_SHOWN])
    more = f'; and {n_bad - _SHOWN} more' if n_bad > _SHOWN else ''
    share = n_bad / max(n_lines, 1)
    head = f"{source}: {n_bad} of {n_lines} lines malformed ({share:.2%})"
    if strict:
        raise SeqrecFormatError(f'{head}, strict mode allows none: {shown}{more}')
    if n_bad > max_malformed * n_lines:
        raise SeqrecFormatError(f'{head}, more than the {max_malformed:.2%} allowed (seqrec_max_malformed): '
                                f'{shown}{more}')
    warnings.warn(f'{head}, skipped: {shown}{more}', SeqrecFormatWarning, stacklevel=3)


def convert_seqrec(source: PathLike, out_dir: PathLike, name: Optional[str] = None, force: bool = False,
                   strict: bool = False, max_malformed: float = MAX_MALFORMED) -> Path:
    r"""Convert a ``user item item ...`` file into ``<out_dir>/<name>/<name>.inter`` (RecBole atomic format).

    Each line ``u i_1 ... i_n`` becomes ``n`` rows ``u, i_t, t - 1`` (``timestamp:float`` is the 0-based position,
    so RecBole's time ordering reproduces the file's order). Blank lines are ignored. A line is *malformed* when
    a field is not a non-negative integer, when it has a user but no items, or when its user already had a line;
    malformed lines are skipped and reported with their line numbers (:class:`SeqrecFormatWarning`, again on
    every cached call), unless more than ``max_malformed`` of the non-blank lines are malformed, or any is in
    ``strict`` mode: then :class:`SeqrecFormatError` is raised and nothing is written. A ``<name>.source.json``
    stamp (source SHA-256, converter version, counts, malformed lines) makes later calls a no-op unless the source
    changed or ``force=True``.

    Args:
        source (path): the ``.txt`` file.
        out_dir (path): RecBole ``data_path``; the dataset folder is created inside it.
        name (str, optional): dataset name. (default: the file's stem)
        force (bool, optional): rebuild even when the stamp matches. (default: :obj:`False`)
        strict (bool, optional): fail on any malformed line. (default: :obj:`False`)
        max_malformed (float, optional): largest share of malformed lines that is skipped with a warning.
            (default: :obj:`0.01`)

    Returns:
        pathlib.Path: the ``.inter`` file.

    Raises:
        SeqrecFormatError: too many malformed lines (or any, with ``strict``), naming the first ones.
    """
    source = Path(source)
    if isinstance(strict, str) or not isinstance(strict, (bool, int)):
        raise TypeError(f"Expected 'strict' to be a bool (got {strict!r})")
    if isinstance(max_malformed, bool) or not isinstance(max_malformed, (int, float)) \
            or not 0 <= max_malformed <= 1:
        raise ValueError(f"Expected 'max_malformed' to be a number in [0, 1] (got {max_malformed!r})")
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
            _check_malformed(source, int(stamp.get('lines', 0)), int(stamp.get('n_malformed', 0)),
                             [tuple(x) for x in stamp.get('malformed', [])], strict, max_malformed)
            return inter
    rows, n_users, n_inter, n_lines, bad = _parse_seqrec(source)
    _check_malformed(source, n_lines, len(bad), bad, strict, max_malformed)
    _atomic_write_text(inter, '\n'.join(rows) + '\n')
    _atomic_write_text(stamp_path, json.dumps({
        'source': str(source), 'sha256': digest, 'converter_version': _CONVERTER_VERSION,
        'users': n_users, 'interactions': n_inter, 'lines': n_lines, 'n_malformed': len(bad),
        'malformed': [list(x) for x in bad[:_SHOWN]]}, indent=1) + '\n')
    return inter


def dataset_config(name: str, root: Optional[PathLike] = None, cache: Optional[PathLike] = None,
                   strict: bool = False, max_malformed: float = MAX_MALFORMED) -> Dict[str, Any]:
    r"""RecBole config entries that point at dataset ``name`` (converting it first if needed).

    Args:
        name (str): one of :data:`DATASETS` (aliases accepted).
        root (path, optional): data root holding ``seqrec/``. (default: :func:`data_root`)
        cache (path, optional): cache folder. (default: :func:`cache_dir`)
        strict (bool, optional): see :func:`convert_seqrec`. (default: :obj:`False`)
        max_malformed (float, optional): see :func:`convert_seqrec`. (default: :obj:`0.01`)

    Returns:
        dict: ``dataset`` and, for converted datasets, ``data_path`` and ``load_col``.
    """
    name = resolve_dataset(name)
    if name == 'ml-100k':
        # RecBole points data_path at its own dataset_example folder for this name.
        return {'dataset': name, 'load_col': {'inter': ['user_id', 'item_id', 'timestamp']}}
    root = Path(root) if root is not None else data_root()
    cache = Path(cache) if cache is not None else cache_dir()
    convert_seqrec(root / 'seqrec' / f'{name}.txt', cache, name, strict=strict, max_malformed=max_malformed)
    return {'dataset': name, 'data_path': str(cache), 'load_col': {'inter': ['user_id', 'item_id', 'timestamp']}}
