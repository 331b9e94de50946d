"""Reading SMILES from CSV/TSV tables or plain one-per-line files (optionally gzip-compressed)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import List, Optional, Sequence

import pandas as pd

__all__ = ['read_smiles_file', 'SMILES_COLUMN_CANDIDATES']

#: Column names tried, in order, when no SMILES column is given (exact match first, then case-insensitive).
SMILES_COLUMN_CANDIDATES = ('smiles', 'SMILES', 'mol')

_TABLE_SUFFIXES = {'.csv': ',', '.tsv': '\t'}
_LINE_SUFFIXES = ('.txt', '.smi')


def read_smiles_file(path: str | os.PathLike, column: Optional[str] = None) -> List[str]:
    r"""Reads the SMILES strings of a file, one per data row, in file order.

    Formats, chosen by the file name (each optionally followed by ``.gz``):

    * ``.csv`` / ``.tsv``: a table with a header row. ``column`` names the SMILES column; by default the first of
      ``smiles``, ``SMILES``, ``mol`` that exists (then a case-insensitive ``smiles``). Empty cells become ``''``
      (invalid SMILES downstream, reported with their row). Read with pandas.
    * ``.txt`` / ``.smi``: one SMILES per line, no header; the first whitespace-separated token of each line is the
      SMILES (so ``"CCO ethanol"`` gives ``"CCO"``). Blank lines are skipped.

    The returned list is indexed by 0-based data row (header excluded), the row numbers used in every warning.

    Args:
        path (str or PathLike): the file.
        column (str, optional): SMILES column of a table; ignored for line files. (default: :obj:`None`)

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unsupported suffix, empty file, table without data rows, or unknown/undetectable SMILES column
            (the message lists the columns).

    Example:
        >>> read_smiles_file('zinc/zinc250k.txt.gz')[:1]  # doctest: +SKIP
        ['CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1']
    """
    path = Path(path)
    kind = _file_kind(path)
    if kind in _TABLE_SUFFIXES:
        col = _resolve_smiles_column(_read_header(path), column, path)
        table = _read_table(path, usecols=[col], text_columns=[col])
        return [_cell_to_str(v) for v in table[col].tolist()]
    with _open_text(path) as handle:
        out = [line.split(None, 1)[0] for line in handle if line.strip()]
    if not out:
        raise ValueError(f"SMILES file '{path}' is empty (no non-blank line)")
    return out


def _file_kind(path: Path) -> str:
    """Return the format suffix of ``path`` ('.csv', '.tsv', '.txt', '.smi'), checking that the file exists."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == '.gz':
        suffixes = suffixes[:-1]
    kind = suffixes[-1] if suffixes else ''
    if kind not in _TABLE_SUFFIXES and kind not in _LINE_SUFFIXES:
        raise ValueError(f"Expected a SMILES file ending in .csv, .tsv, .txt or .smi (optionally .gz) "
                         f"(got '{path.name}')")
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file not found: '{path}'")
    return kind


def _open_text(path: Path):
    if path.name.lower().endswith('.gz'):
        return gzip.open(path, 'rt', encoding='utf-8')
    return open(path, encoding='utf-8')


def _read_header(path: Path) -> List[str]:
    """Column names of a .csv/.tsv(.gz) table."""
    kind = _file_kind(path)
    try:
        return [str(c) for c in pd.read_csv(path, sep=_TABLE_SUFFIXES[kind], nrows=0).columns]
    except pd.errors.EmptyDataError:
        raise ValueError(f"Table '{path}' is empty (no header row)") from None


def _read_table(path: Path, usecols: Optional[Sequence[str]] = None,
                text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a .csv/.tsv(.gz) with pandas: missing cells -> NaN, ``text_columns`` kept as strings, file order kept.
    Raises ValueError when the table is empty."""
    kind = _file_kind(path)
    if kind not in _TABLE_SUFFIXES:
        raise ValueError(f"Expected a .csv or .tsv table (optionally .gz) (got '{path.name}')")
    try:
        table = pd.read_csv(path, sep=_TABLE_SUFFIXES[kind], usecols=usecols, compression='infer',
                            dtype={c: str for c in text_columns})
    except pd.errors.EmptyDataError:
        raise ValueError(f"Table '{path}' is empty (no header row)") from None
    if len(table) == 0:
        raise ValueError(f"Table '{path}' has a header but no data rows (columns: {list(table.columns)})")
    return table


def _resolve_smiles_column(columns: Sequence[str], column: Optional[str], path: os.PathLike | str) -> str:
    """The SMILES column among ``columns``: ``column`` if given (must exist), else the first default candidate."""
    columns = [str(c) for c in columns]
    if column is not None:
        if column not in columns:
            raise ValueError(f"Expected 'column' to be one of the columns of '{path}' {columns} (got '{column}')")
        return column
    for name in SMILES_COLUMN_CANDIDATES:
        if name in columns:
            return name
    for name in columns:
        if name.strip().lower() == 'smiles':
            return name
    raise ValueError(f"Could not find a SMILES column in '{path}': none of {list(SMILES_COLUMN_CANDIDATES)} among "
                     f"its columns {columns}; pass the column name explicitly")


def _cell_to_str(value) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None or (isinstance(value, float) and value != value):
        return ''
    return str(value).strip()
