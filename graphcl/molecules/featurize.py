"""SMILES -> PyG molecule graphs with PyG's own categorical featuriser (:func:`torch_geometric.utils.from_rdmol`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from torch_geometric.data import Data
from torch_geometric.utils import from_rdmol
from torch_geometric.utils.smiles import e_map, x_map

try:
    from rdkit import Chem, rdBase
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("graphcl.molecules needs RDKit: pip install 'graphcl[chem]' (or pip install rdkit)") from err

__all__ = ['ATOM_FEATURE_SIZES', 'BOND_FEATURE_SIZES', 'FeaturizedSmiles', 'InvalidSmilesWarning', 'smiles_to_data',
           'featurize_smiles']

#: Number of categories of each atom column of ``x``, in the order of :obj:`torch_geometric.utils.smiles.x_map`
#: (atomic_num, chirality, degree, formal_charge, num_hs, num_radical_electrons, hybridization, is_aromatic,
#: is_in_ring). The MASK value of column ``i`` is ``ATOM_FEATURE_SIZES[i]``, so embedding tables have ``size + 1``
#: rows.
ATOM_FEATURE_SIZES: Tuple[int, ...] = tuple(len(v) for v in x_map.values())

#: Number of categories of each bond column of ``edge_attr``, in the order of :obj:`torch_geometric.utils.smiles.e_map`
#: (bond_type, stereo, is_conjugated).
BOND_FEATURE_SIZES: Tuple[int, ...] = tuple(len(v) for v in e_map.values())


class InvalidSmilesWarning(UserWarning):
    """Issued by :func:`featurize_smiles` when some SMILES could not be turned into a graph (they are skipped)."""


def smiles_to_data(smiles: str) -> Optional[Data]:
    r"""Parses one SMILES with RDKit and featurises it with PyG's :func:`~torch_geometric.utils.from_rdmol`.

    The graph has ``x`` (LongTensor :math:`[N, 9]`, categorical atom features in the order of ``x_map``; column 0 is
    the atomic number), ``edge_index`` (:math:`[2, 2B]`, each bond in both directions), ``edge_attr`` (LongTensor
    :math:`[2B, 3]`, in the order of ``e_map``) and ``smiles`` (the input with surrounding whitespace removed).
    The features are identical to :func:`torch_geometric.utils.from_smiles` for every SMILES this function accepts.

    RDKit's own error messages are silenced while parsing and its log settings restored afterwards.

    Args:
        smiles (str): a SMILES string.

    Returns:
        :class:`~torch_geometric.data.Data`, or :obj:`None` when RDKit cannot parse the SMILES, the molecule has no
        atom, or an atom/bond property lies outside PyG's vocabulary (e.g. a degree above 10, or RDKit's ``SP2D``
        hybridisation), which :func:`~torch_geometric.utils.from_rdmol` cannot encode.

    Example:
        >>> data = smiles_to_data('CCO')
        >>> data.x[:, 0].tolist(), data.edge_index.size(1)
        ([6, 6, 8], 4)
        >>> smiles_to_data('not a smiles') is None
        True
    """
    if not isinstance(smiles, str):
        return None
    smiles = smiles.strip()
    if not smiles:
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    try:
        data = from_rdmol(mol)
    except ValueError:  # a property value that is not in PyG's x_map / e_map
        return None
    data.smiles = smiles
    return data


@dataclass
class FeaturizedSmiles:
    """Result of :func:`featurize_smiles`.

    Attributes:
        graphs (list[Data]): one graph per valid SMILES, in input order; each carries ``row`` (int, its input row).
        valid_rows (list[int]): 0-based input rows of ``graphs``.
        invalid (list[tuple[int, str]]): ``(row, smiles)`` of every input that could not be featurised.
    """
    graphs: List[Data] = field(default_factory=list)
    valid_rows: List[int] = field(default_factory=list)
    invalid: List[Tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.graphs)


def featurize_smiles(smiles: Sequence[str], *, source: str = 'input', max_report: int = 5) -> FeaturizedSmiles:
    r"""Featurises many SMILES with :func:`smiles_to_data`, skipping the ones that fail.

    Row numbers are 0-based positions in ``smiles`` (for a file: 0-based data rows, header excluded). Invalid
    entries never raise: they are collected in :attr:`FeaturizedSmiles.invalid` and ONE
    :class:`InvalidSmilesWarning` (Python :mod:`warnings`) says how many failed and lists the first ``max_report``
    with their rows. RDKit's C++ error messages are silenced while parsing and its log settings restored afterwards.

    Args:
        smiles (Sequence[str]): SMILES strings (non-string entries, e.g. NaN cells, count as invalid).
        source (str, optional): what the SMILES come from (a file path, a dataset name), used in messages.
            (default: :obj:`'input'`)
        max_report (int, optional): how many invalid entries the warning lists. (default: :obj:`5`)

    Raises:
        ValueError: if ``smiles`` is empty or no entry is valid (the message names ``source``).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter('ignore')
        ...     out = featurize_smiles(['CCO', 'C1CC', 'c1ccccc1'])
        >>> out.valid_rows, out.invalid, out.graphs[1].row
        ([0, 2], [(1, 'C1CC')], 2)
    """
    if isinstance(smiles, str):
        raise TypeError(f"Expected 'smiles' to be a sequence of SMILES strings, not one string (got '{smiles}')")
    if max_report < 0:
        raise ValueError(f"Expected 'max_report' to be non-negative (got {max_report})")
    out = FeaturizedSmiles()
    with rdBase.BlockLogs():
        for row, smi in enumerate(smiles):
            data = smiles_to_data(smi)
            if data is None:
                out.invalid.append((row, smi if isinstance(smi, str) else repr(smi)))
                continue
            data.row = row
            out.graphs.append(data)
            out.valid_rows.append(row)
    total = len(out.graphs) + len(out.invalid)
    if total == 0:
        raise ValueError(f"No SMILES to featurise in {source} (got an empty sequence)")
    if not out.graphs:
        raise ValueError(f"None of the {total} SMILES in {source} could be featurised "
                         f"(first rows: {_describe(out.invalid, max(max_report, 1))})")
    if out.invalid:
        warnings.warn(f"{len(out.invalid)} of {total} SMILES in {source} could not be featurised and were skipped "
                      f"(0-based rows): {_describe(out.invalid, max_report)}", InvalidSmilesWarning, stacklevel=2)
    return out


def _describe(invalid: List[Tuple[int, str]], max_report: int) -> str:
    shown = ', '.join(f"row {row} {smi!r}" for row, smi in invalid[:max_report])
    rest = len(invalid) - max_report
    if rest > 0:
        shown = f"{shown}, ... and {rest} more" if shown else f"{rest} not listed"
    return shown
