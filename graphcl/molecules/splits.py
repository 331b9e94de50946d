"""Train/valid/test splits for molecule sets: Bemis-Murcko scaffold splits and random splits."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .featurize import Chem, rdBase

__all__ = ['murcko_scaffold', 'scaffold_split', 'random_split']

Split = Tuple[np.ndarray, np.ndarray, np.ndarray]


def _check_frac(frac: Sequence[float]) -> Tuple[float, float, float]:
    try:
        values = tuple(float(f) for f in frac)
    except TypeError:
        raise TypeError(f"Expected 'frac' to be a sequence of three floats (got {frac!r})") from None
    if len(values) != 3:
        raise ValueError(f"Expected 'frac' to hold three fractions (train, valid, test) (got {frac!r})")
    if any(not np.isfinite(f) or f < 0 for f in values):
        raise ValueError(f"Expected 'frac' to hold non-negative fractions (got {frac!r})")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"Expected 'frac' to sum to 1 (got {frac!r}, sum {sum(values):g})")
    return values  # type: ignore[return-value]


def murcko_scaffold(smiles: str) -> Optional[str]:
    """Bemis-Murcko scaffold SMILES of a molecule, without chirality (``''`` for acyclic molecules), or
    :obj:`None` when RDKit cannot parse ``smiles``.

    Example:
        >>> murcko_scaffold('Cc1ccccc1CC(=O)O'), murcko_scaffold('CCO')
        ('c1ccccc1', '')
    """
    from rdkit.Chem.Scaffolds import MurckoScaffold
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles.strip()) if isinstance(smiles, str) else None
        if mol is None:
            return None
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def _scaffold_sets(smiles: Sequence[str]) -> List[List[int]]:
    """Indices grouped by scaffold, groups in order of first occurrence, indices ascending."""
    groups: Dict[str, List[int]] = {}
    bad = []
    for i, smi in enumerate(smiles):
        scaffold = murcko_scaffold(smi)
        if scaffold is None:
            bad.append(i)
            continue
        groups.setdefault(scaffold, []).append(i)
    if bad:
        shown = ', '.join(f"row {i} {smiles[i]!r}" for i in bad[:5])
        raise ValueError(f"Expected valid SMILES in 'smiles', but RDKit cannot parse {len(bad)} of them "
                         f"(0-based rows: {shown}{', ...' if len(bad) > 5 else ''}); pass the SMILES of a "
                         f"featurised dataset (MoleculeDataset.smiles)")
    return list(groups.values())


def scaffold_split(smiles: Sequence[str], frac: Sequence[float] = (0.8, 0.1, 0.1), seed: Optional[int] = None
                   ) -> Split:
    r"""Bemis-Murcko scaffold split: molecules sharing a scaffold (RDKit
    ``MurckoScaffold.MurckoScaffoldSmiles(mol=..., includeChirality=False)``; all acyclic molecules share the empty
    scaffold) always land in the same part, so valid/test hold scaffolds never seen in training.

    Two modes:

    * ``seed=None``: the deterministic standard split of `"Strategies for Pre-training Graph Neural Networks"
      (Hu et al., 2020) <https://arxiv.org/abs/1905.12265>`_, OGB and MolCLR. Scaffold sets are sorted by
      (size, first index) in decreasing order, exactly as their code (``sorted(..., key=lambda x: (len(x[1]),
      x[1][0]), reverse=True)``): largest first, equal sizes by the LATER first occurrence first. The tie rule
      matters: most scaffolds are singletons, so it decides which end of the file fills valid and test; with the
      opposite rule the valid and test parts of chemprop's BBBP file hold only positives. Each set goes to train if
      train stays within :math:`f_0 n`, else to valid if train + valid stay within :math:`(f_0 + f_1) n`, else to
      test.
    * ``seed=int``: chemprop's ``scaffold_balanced`` (`Yang et al., 2019 <https://doi.org/10.1021/acs.jcim.9b00237>`_,
      used by KANO). With :math:`n_{tr} = \lfloor f_0 n \rfloor`, :math:`n_{va} = \lfloor f_1 n \rfloor`,
      :math:`n_{te} = n - n_{tr} - n_{va}`: sets larger than :math:`n_{va}/2` or :math:`n_{te}/2` come first, then
      the others, each group shuffled with ``numpy.random.default_rng(seed)`` (so the permutation differs from
      chemprop's Python ``random``); each set goes to train if it fits in :math:`n_{tr}`, else to valid if it fits in
      :math:`n_{va}`, else to test. Different seeds give different splits, the same seed the same split.

    In both modes part sizes are approximate (whole scaffold sets move). Returned indices are sorted.

    Args:
        smiles (Sequence[str]): SMILES of the molecules (all must parse).
        frac (Sequence[float], optional): train/valid/test fractions, non-negative, summing to 1.
            (default: :obj:`(0.8, 0.1, 0.1)`)
        seed (int, optional): :obj:`None` for the deterministic split, an int for the balanced randomised one.
            (default: :obj:`None`)

    Returns:
        ``(train, valid, test)`` int64 index arrays.

    Example:
        >>> smiles = ['c1ccccc1C', 'c1ccccc1O', 'C1CCCCC1N', 'CCO', 'c1ccccc1N']
        >>> [part.tolist() for part in scaffold_split(smiles, frac=(0.6, 0.2, 0.2))]
        [[0, 1, 4], [3], [2]]
    """
    f_train, f_valid, _ = _check_frac(frac)
    n = len(smiles)
    sets = _scaffold_sets(smiles)
    train: List[int] = []
    valid: List[int] = []
    test: List[int] = []
    if seed is None:
        sets.sort(key=lambda group: (len(group), group[0]), reverse=True)  # Hu et al. / OGB / MolCLR
        train_cut, valid_cut = f_train * n, (f_train + f_valid) * n
        for group in sets:
            if len(train) + len(group) > train_cut:
                if len(train) + len(valid) + len(group) > valid_cut:
                    test.extend(group)
                else:
                    valid.extend(group)
            else:
                train.extend(group)
    else:
        n_train, n_valid = int(f_train * n), int(f_valid * n)
        n_test = n - n_train - n_valid
        big = [g for g in sets if len(g) > n_valid / 2 or len(g) > n_test / 2]
        small = [g for g in sets if not (len(g) > n_valid / 2 or len(g) > n_test / 2)]
        rng = np.random.default_rng(seed)
        big = [big[i] for i in rng.permutation(len(big))]
        small = [small[i] for i in rng.permutation(len(small))]
        for group in big + small:
            if len(train) + len(group) <= n_train:
                train.extend(group)
            elif len(valid) + len(group) <= n_valid:
                valid.extend(group)
            else:
                test.extend(group)
    return tuple(np.sort(np.asarray(part, dtype=np.int64)) for part in (train, valid, test))  # type: ignore


def random_split(n: int, frac: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    r"""Random split of :math:`n` items: a ``numpy.random.default_rng(seed)`` permutation cut after
    :math:`\mathrm{round}(f_0 n)` and :math:`\mathrm{round}((f_0 + f_1) n)` items. Returned indices are sorted.

    Args:
        n (int): number of items.
        frac (Sequence[float], optional): train/valid/test fractions, non-negative, summing to 1.
            (default: :obj:`(0.8, 0.1, 0.1)`)
        seed (int, optional): random seed. (default: :obj:`0`)

    Example:
        >>> [len(part) for part in random_split(10, (0.8, 0.1, 0.1), seed=0)]
        [8, 1, 1]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"Expected 'n' to be a non-negative int (got {n!r})")
    f_train, f_valid, _ = _check_frac(frac)
    perm = np.random.default_rng(seed).permutation(int(n))
    a, b = round(f_train * n), round((f_train + f_valid) * n)
    b = min(max(a, b), n)
    return tuple(np.sort(part).astype(np.int64) for part in (perm[:a], perm[a:b], perm[b:]))  # type: ignore
