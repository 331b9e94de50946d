"""MoleculeNet property-prediction sets (and users' own CSVs) as lists of PyG molecule graphs with labels."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from torch_geometric.data import Data

from ..compat.dgl_convert import as_pyg
from ..data.root import data_root
from .featurize import featurize_smiles
from .smiles_file import _read_header, _read_table, _resolve_smiles_column

__all__ = ['MoleculeNetPreset', 'MOLECULENET_PRESETS', 'MoleculeDataset', 'load_molecule_dataset']

TASK_TYPES = ('classification', 'regression')
SPLITS = ('scaffold', 'random')


@dataclass(frozen=True)
class MoleculeNetPreset:
    """Where a MoleculeNet file lives under the data root and how to read it.

    Attributes:
        path (str): file path relative to the data root (``$GRAPHCL_DATA``).
        smiles_column (str): name of the SMILES column.
        label_columns (tuple[str, ...] or None): label columns; :obj:`None` = every column but the SMILES one.
        task_type (str): ``'classification'`` (binary labels, ROC-AUC) or ``'regression'`` (RMSE).
        split (str): the split the KCL paper uses for this set, ``'scaffold'`` or ``'random'`` (sets KCL does not
            evaluate, HIV and Lipophilicity, get MoleculeNet's recommendation: scaffold and random).
        source (str): where the file comes from.
    """
    path: str
    smiles_column: str
    label_columns: Optional[Tuple[str, ...]]
    task_type: str
    split: str
    source: str = ''

    def __post_init__(self):
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"Expected 'task_type' to be one of {TASK_TYPES} (got '{self.task_type}')")
        if self.split not in SPLITS:
            raise ValueError(f"Expected 'split' to be one of {SPLITS} (got '{self.split}')")


_CP = 'moleculenet/chemprop_b83635b/'
_DC = 'moleculenet/deepchem/'
_CHEMPROP = 'chemprop b83635b (cleaned: invalid SMILES removed)'
_DEEPCHEM = 'DeepChem repository (original curator layout)'

#: One preset per file under ``<data root>/moleculenet/``. Unsuffixed names are chemprop's cleaned copies; the
#: ``-deepchem`` and ``-kcl`` names are the DeepChem / KCL copies of the same sets (more rows: not cleaned).
MOLECULENET_PRESETS: Dict[str, MoleculeNetPreset] = {
    'bbbp': MoleculeNetPreset(_CP + 'BBBP.csv', 'smiles', ('p_np',), 'classification', 'scaffold', _CHEMPROP),
    'bace': MoleculeNetPreset(_CP + 'bace.csv', 'mol', ('Class',), 'classification', 'scaffold', _CHEMPROP),
    'clintox': MoleculeNetPreset(_CP + 'clintox.csv', 'smiles', ('FDA_APPROVED', 'CT_TOX'), 'classification',
                                 'random', _CHEMPROP),
    'tox21': MoleculeNetPreset(_CP + 'tox21.csv', 'smiles', None, 'classification', 'random', _CHEMPROP),
    'sider': MoleculeNetPreset(_CP + 'sider.csv', 'smiles', None, 'classification', 'random', _CHEMPROP),
    'toxcast': MoleculeNetPreset(_CP + 'toxcast.csv.gz', 'smiles', None, 'classification', 'random', _CHEMPROP),
    'hiv': MoleculeNetPreset(_CP + 'HIV.csv.gz', 'smiles', ('HIV_active',), 'classification', 'scaffold', _CHEMPROP),
    'esol': MoleculeNetPreset(_CP + 'delaney.csv', 'smiles', ('logp',), 'regression', 'random', _CHEMPROP),
    'freesolv': MoleculeNetPreset(_CP + 'freesolv.csv', 'smiles', ('freesolv',), 'regression', 'random', _CHEMPROP),
    'lipophilicity': MoleculeNetPreset(_CP + 'lipo.csv', 'smiles', ('lipo',), 'regression', 'random', _CHEMPROP),
    'clintox-deepchem': MoleculeNetPreset(_DC + 'clintox.csv.gz', 'smiles', None, 'classification', 'random',
                                          _DEEPCHEM),
    'sider-deepchem': MoleculeNetPreset(_DC + 'sider.csv.gz', 'smiles', None, 'classification', 'random', _DEEPCHEM),
    'toxcast-deepchem': MoleculeNetPreset(_DC + 'toxcast_data.csv.gz', 'smiles', None, 'classification', 'random',
                                          _DEEPCHEM),
    'esol-deepchem': MoleculeNetPreset(_DC + 'delaney-processed.csv', 'smiles',
                                       ('measured log solubility in mols per litre',), 'regression', 'random',
                                       _DEEPCHEM),
    'freesolv-deepchem': MoleculeNetPreset(_DC + 'SAMPL.csv', 'smiles', ('expt',), 'regression', 'random', _DEEPCHEM),
    'bbbp-kcl': MoleculeNetPreset('moleculenet/kcl/bbbp.csv', 'smiles', ('p_np',), 'classification', 'scaffold',
                                  'ZJU-Fangyin/KCL data/raw/bbbp.csv (DeepChem layout)'),
}


class MoleculeDataset(Dataset):
    r"""A labelled molecule set: a sequence of PyG graphs (format of :func:`~graphcl.molecules.smiles_to_data`)
    each with ``y`` (float :math:`[1, T]`, NaN = missing label) and ``row`` (its 0-based data row in the file).

    ``graphs`` may also be ``dgl.DGLGraph`` objects (DGL users keep their graphs): they are converted by
    :func:`graphcl.compat.dgl_convert.as_pyg`, graph-level ``y`` from ``graph_data``.

    Indexing with an int returns a :class:`~torch_geometric.data.Data`; with a slice, an index array/tensor or a
    list of ints it returns a new :class:`MoleculeDataset` holding those molecules (e.g. a split).

    Attributes:
        name (str): preset name or file path.
        smiles (list[str]): SMILES of the valid rows, aligned with the graphs.
        rows (list[int]): 0-based data rows of the graphs in the source file.
        label_names (list[str]): the :math:`T` label columns.
        task_type (str): ``'classification'`` or ``'regression'``.
        invalid (list[tuple[int, str]]): ``(row, smiles)`` of the rows that could not be featurised (skipped).
    """

    def __init__(self, graphs: Sequence[Data], *, name: str, smiles: Sequence[str], rows: Sequence[int],
                 label_names: Sequence[str], task_type: str, invalid: Sequence[Tuple[int, str]] = ()):
        if task_type not in TASK_TYPES:
            raise ValueError(f"Expected 'task_type' to be one of {TASK_TYPES} (got '{task_type}')")
        if not (len(graphs) == len(smiles) == len(rows)):
            raise ValueError(f"Expected 'graphs', 'smiles' and 'rows' of equal length "
                             f"(got {len(graphs)}, {len(smiles)}, {len(rows)})")
        self.graphs = [as_pyg(g) for g in graphs]  # DGL graphs (graphcl.compat.dgl_convert.to_dgl's layout) too
        self.name = name
        self.smiles = list(smiles)
        self.rows = list(rows)
        self.label_names = list(label_names)
        self.task_type = task_type
        self.invalid = list(invalid)

    @property
    def num_tasks(self) -> int:
        """Number of label columns :math:`T`."""
        return len(self.label_names)

    @property
    def y(self) -> torch.Tensor:
        """All labels stacked, float :math:`[n, T]` (NaN = missing)."""
        if not self.graphs:
            return torch.empty(0, self.num_tasks)
        return torch.cat([g.y for g in self.graphs], dim=0)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) or (torch.is_tensor(index) and index.dim() == 0):
            return self.graphs[int(index)]
        if isinstance(index, slice):
            idx = range(len(self.graphs))[index]
        else:
            idx = np.asarray(index.cpu() if torch.is_tensor(index) else index)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise ValueError(f"Expected a boolean mask of length {len(self)} (got shape {idx.shape})")
                idx = np.flatnonzero(idx)
            elif idx.size and not np.issubdtype(idx.dtype, np.integer):
                raise TypeError(f"Expected integer indices (got dtype {idx.dtype})")
            idx = idx.reshape(-1).tolist()
        return MoleculeDataset([self.graphs[i] for i in idx], name=self.name,
                               smiles=[self.smiles[i] for i in idx], rows=[self.rows[i] for i in idx],
                               label_names=self.label_names, task_type=self.task_type, invalid=self.invalid)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.name}, molecules={len(self)}, tasks={self.num_tasks}, "
                f"task_type='{self.task_type}', invalid={len(self.invalid)})")


def load_molecule_dataset(name_or_path: Union[str, os.PathLike], root: Union[str, os.PathLike, None] = None, *,
                          smiles_column: Optional[str] = None, label_columns: Optional[Sequence[str]] = None,
                          task_type: Optional[str] = None) -> MoleculeDataset:
    r"""Loads a MoleculeNet preset (see :data:`MOLECULENET_PRESETS`) or a user's CSV/TSV file as a
    :class:`MoleculeDataset`.

    * Preset name (case-insensitive): the file is ``<root>/<preset.path>``, ``root`` defaulting to the data root
      (``$GRAPHCL_DATA``, see :func:`graphcl.data.root.data_root`). Keyword arguments override the preset.
    * A path (``.csv``/``.tsv``, optionally ``.gz``; relative paths are taken as given, not under ``root``):
      ``smiles_column`` defaults as in :func:`~graphcl.molecules.read_smiles_file` (``smiles``/``SMILES``/``mol``),
      ``label_columns`` to every other column pandas reads as numeric, and ``task_type`` is inferred:
      ``'classification'`` when every present label is 0 or 1, else ``'regression'``.

    Missing label cells become NaN. Rows whose SMILES cannot be featurised are skipped, listed in
    :attr:`MoleculeDataset.invalid` and reported by one :class:`~graphcl.molecules.InvalidSmilesWarning`.

    Args:
        name_or_path (str or PathLike): preset name or file path.
        root (str or PathLike, optional): data root for presets. (default: :obj:`None`)
        smiles_column (str, optional): SMILES column. (default: :obj:`None`)
        label_columns (Sequence[str], optional): label columns. (default: :obj:`None`)
        task_type (str, optional): ``'classification'`` or ``'regression'``. (default: :obj:`None`)

    Raises:
        ValueError: unknown preset name (lists the valid ones), unknown column, a non-numeric label cell (names the
            column and the 0-based row), non-binary labels with ``task_type='classification'``, no valid SMILES.
        FileNotFoundError: the file does not exist.

    Example:
        >>> ds = load_molecule_dataset('bbbp')  # doctest: +SKIP
        >>> ds.num_tasks, ds[0].y.shape  # doctest: +SKIP
        (1, torch.Size([1, 1]))
    """
    if task_type is not None and task_type not in TASK_TYPES:
        raise ValueError(f"Expected 'task_type' to be one of {TASK_TYPES} (got '{task_type}')")
    key = str(name_or_path).lower()
    if isinstance(name_or_path, str) and key in MOLECULENET_PRESETS:
        preset = MOLECULENET_PRESETS[key]
        path = data_root(root) / preset.path
        if not path.is_file():
            raise FileNotFoundError(f"File of the MoleculeNet preset '{key}' not found: '{path}' (set $GRAPHCL_DATA "
                                    f"or pass 'root' to point at the datasets folder)")
        name = key
        smiles_column = smiles_column or preset.smiles_column
        if label_columns is None:
            label_columns = preset.label_columns
            if label_columns is None:  # every column but the SMILES one, all of them must be numeric
                header = _read_header(path)
                label_columns = [c for c in header if c != _resolve_smiles_column(header, smiles_column, path)]
        task_type = task_type or preset.task_type
    else:
        path = Path(name_or_path).expanduser()
        if not _looks_like_path(name_or_path):
            raise ValueError(f"Expected 'name_or_path' to be a MoleculeNet preset {sorted(MOLECULENET_PRESETS)} or "
                             f"the path of a .csv/.tsv file (got '{name_or_path}')")
        if not path.is_file():
            raise FileNotFoundError(f"Molecule table not found: '{path}'")
        name = str(name_or_path)

    smiles, labels, label_names = _read_labelled_table(path, smiles_column, label_columns)
    inferred = _infer_task_type(labels)
    if task_type is None:
        task_type = inferred
    elif task_type == 'classification' and inferred != 'classification':
        bad = int(np.flatnonzero(((labels != 0) & (labels != 1) & ~np.isnan(labels)).any(axis=0))[0])
        raise ValueError(f"Expected binary 0/1 labels for task_type='classification', but column "
                         f"'{label_names[bad]}' of '{path}' holds other values (pass task_type='regression')")

    featurized = featurize_smiles(smiles, source=str(path))
    y = torch.from_numpy(labels)
    for graph in featurized.graphs:
        graph.y = y[graph.row].unsqueeze(0).clone()
    return MoleculeDataset(featurized.graphs, name=name, smiles=[g.smiles for g in featurized.graphs],
                           rows=featurized.valid_rows, label_names=label_names, task_type=task_type,
                           invalid=featurized.invalid)


def _looks_like_path(value) -> bool:
    if not isinstance(value, str):
        return True
    return os.sep in value or '/' in value or value.lower().endswith(('.csv', '.tsv', '.csv.gz', '.tsv.gz')) \
        or Path(value).expanduser().is_file()


def _read_labelled_table(path: Path, smiles_column: Optional[str], label_columns: Optional[Sequence[str]]
                         ) -> Tuple[List[str], np.ndarray, List[str]]:
    """Read (SMILES list, float32 labels [n, T] with NaN for missing, label names) from a table."""
    header = _read_header(path)
    smiles_column = _resolve_smiles_column(header, smiles_column, path)
    explicit = label_columns is not None
    if explicit:
        if isinstance(label_columns, str):
            label_columns = [label_columns]
        label_columns = list(label_columns)
        unknown = [c for c in label_columns if c not in header]
        if unknown:
            raise ValueError(f"Expected 'label_columns' to be columns of '{path}' {header} (got unknown {unknown})")
        if smiles_column in label_columns:
            raise ValueError(f"Expected 'label_columns' not to contain the SMILES column '{smiles_column}'")
        if not label_columns:
            raise ValueError(f"Expected at least one label column (got 'label_columns'={label_columns})")
    table = _read_table(path, usecols=[smiles_column] + label_columns if explicit else None,
                        text_columns=[smiles_column])
    smiles = [s.strip() if isinstance(s, str) else '' for s in table[smiles_column].tolist()]
    if not explicit:
        label_columns = [c for c in table.columns if c != smiles_column and pd.api.types.is_numeric_dtype(table[c])]
        if not label_columns:
            raise ValueError(f"No numeric label column in '{path}' (columns: {list(table.columns)}); "
                             f"pass 'label_columns'")
    labels = np.empty((len(table), len(label_columns)), dtype=np.float32)
    for j, col in enumerate(label_columns):
        raw = table[col]
        values = pd.to_numeric(raw, errors='coerce')
        bad = values.isna() & raw.notna()
        if raw.dtype == object:  # whitespace-only cells are missing, not malformed
            bad &= raw.astype(str).str.strip() != ''
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"Non-numeric label in column '{col}' of '{path}' at 0-based data row {row} "
                             f"(got {raw.iloc[row]!r})")
        labels[:, j] = values.to_numpy(dtype=np.float32, na_value=np.nan)
    return smiles, labels, [str(c) for c in label_columns]


def _infer_task_type(labels: np.ndarray) -> str:
    present = labels[~np.isnan(labels)]
    return 'classification' if np.isin(present, (0.0, 1.0)).all() else 'regression'
