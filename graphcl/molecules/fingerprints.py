"""Morgan fingerprints, Butina clustering and KCL's hard-negative batch order."""
from __future__ import annotations

import math
from collections import deque
from typing import List, Optional, Sequence

import numpy as np

from .featurize import Chem, rdBase

__all__ = ['morgan_fingerprints', 'butina_clusters', 'butina_batch_order']


def _morgan_bitvects(smiles: Sequence[str], radius: int, n_bits: int) -> list:
    """RDKit ExplicitBitVect Morgan fingerprints; raises ValueError listing unparsable rows."""
    from rdkit.Chem import rdFingerprintGenerator
    if isinstance(smiles, str):
        raise TypeError(f"Expected 'smiles' to be a sequence of SMILES strings, not one string (got '{smiles}')")
    if radius < 0:
        raise ValueError(f"Expected 'radius' to be non-negative (got {radius})")
    if n_bits < 1:
        raise ValueError(f"Expected 'n_bits' to be positive (got {n_bits})")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    fps, bad = [], []
    with rdBase.BlockLogs():
        for i, smi in enumerate(smiles):
            mol = Chem.MolFromSmiles(smi.strip()) if isinstance(smi, str) else None
            if mol is None:
                bad.append(i)
                continue
            fps.append(generator.GetFingerprint(mol))
    if bad:
        shown = ', '.join(f"row {i} {smiles[i]!r}" for i in bad[:5])
        raise ValueError(f"Expected valid SMILES in 'smiles', but RDKit cannot parse {len(bad)} of them "
                         f"(0-based rows: {shown}{', ...' if len(bad) > 5 else ''})")
    return fps


def morgan_fingerprints(smiles: Sequence[str], radius: int = 2, n_bits: int = 1024) -> np.ndarray:
    r"""Morgan (ECFP-like) bit fingerprints from RDKit's ``rdFingerprintGenerator`` (KCL: radius 2, 1024 bits).

    Args:
        smiles (Sequence[str]): SMILES strings (all must parse).
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): fingerprint length. (default: :obj:`1024`)

    Returns:
        ``uint8`` array :math:`[n, n_{bits}]` of 0/1.

    Example:
        >>> fp = morgan_fingerprints(['CCO', 'c1ccccc1'])
        >>> fp.shape, fp.dtype.name, int(fp[0].sum()) > 0
        ((2, 1024), 'uint8', True)
    """
    from rdkit import DataStructs
    fps = _morgan_bitvects(smiles, radius, n_bits)
    out = np.zeros((len(fps), n_bits), dtype=np.uint8)
    for i, fp in enumerate(fps):  # one C call per molecule
        DataStructs.ConvertToNumpyArray(fp, out[i])
    return out


def _butina_chunk(fps: list, cutoff: float) -> List[np.ndarray]:
    """Butina clustering (RDKit ``Butina.ClusterData``, ``reordering=False``) of one chunk of fingerprints.

    Distances ``1 - Tanimoto`` are computed row by row with ``BulkTanimotoSimilarity`` into a boolean neighbour
    matrix (:math:`m^2` bytes). Centroids are taken in order of decreasing neighbour count (self included), ties by
    the larger index (RDKit's order); each takes its not yet assigned neighbours. Returns clusters of chunk-local
    indices, centroid first, then the members ascending (RDKit's output)."""
    from rdkit import DataStructs
    m = len(fps)
    nbr = np.zeros((m, m), dtype=bool)
    for i in range(m - 1):
        sim = np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:]), dtype=np.float64)
        nbr[i, i + 1:] = (1.0 - sim) <= cutoff
    nbr |= nbr.T
    np.fill_diagonal(nbr, True)
    counts = nbr.sum(axis=1)
    order = np.lexsort((np.arange(m), counts))[::-1]  # count desc, then index desc
    seen = np.zeros(m, dtype=bool)
    clusters = []
    for idx in order:  # one iteration per centroid candidate; the work inside is vectorised
        if seen[idx]:
            continue
        members = np.flatnonzero(nbr[idx] & ~seen)
        seen[members] = True
        clusters.append(np.concatenate(([idx], members[members != idx])))
    return clusters


def butina_clusters(smiles: Sequence[str], cutoff: float = 0.85, *, chunk_size: Optional[int] = 4096,
                    seed: int = 0, radius: int = 2, n_bits: int = 1024) -> List[np.ndarray]:
    r"""Butina (Taylor-Butina) clustering of molecules on Morgan fingerprints with Tanimoto distance
    :math:`d(a, b) = 1 - \frac{|a \cap b|}{|a \cup b|}`; two molecules are neighbours when :math:`d \le`
    ``cutoff``. Same result as RDKit's ``Butina.ClusterData(..., reordering=False)`` when everything fits in one
    chunk.

    **Scalable rule.** The exact algorithm needs all :math:`n(n-1)/2` distances (ZINC-250k: 31e9). When
    :math:`n >` ``chunk_size`` the molecules are shuffled with ``numpy.random.default_rng(seed)`` and cut into
    :math:`\lceil n / \text{chunk\_size} \rceil` near-equal chunks; Butina runs exactly inside each chunk and the
    clusters of all chunks are pooled. Memory is :math:`O(\text{chunk\_size}^2)` bytes (16 MiB at 4096), time
    :math:`O(n \cdot \text{chunk\_size})` similarity evaluations. Molecules of one true cluster that fall in
    different chunks end up in different (smaller) clusters; at KCL's loose cutoff (similarity :math:`\ge 0.15`)
    a few thousand random molecules already hold dense neighbourhoods, so clusters stay large.

    Args:
        smiles (Sequence[str]): SMILES strings (all must parse).
        cutoff (float, optional): Tanimoto distance threshold in :math:`[0, 1]`. (default: :obj:`0.85`, KCL)
        chunk_size (int, optional): largest chunk clustered exactly; :obj:`None` = one chunk. (default: :obj:`4096`)
        seed (int, optional): seed of the chunk assignment (unused with one chunk). (default: :obj:`0`)
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): fingerprint length. (default: :obj:`1024`)

    Returns:
        list of int64 row-index arrays, largest cluster first (ties: chunk order, then Butina order); within a
        cluster the centroid comes first. Every row is in exactly one cluster.

    Example:
        >>> [c.tolist() for c in butina_clusters(['CCO', 'CCO', 'c1ccccc1'], cutoff=0.5)]
        [[1, 0], [2]]
    """
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"Expected 'cutoff' to be a Tanimoto distance in [0, 1] (got {cutoff})")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"Expected 'chunk_size' to be a positive int or None (got {chunk_size})")
    fps = _morgan_bitvects(smiles, radius, n_bits)
    n = len(fps)
    if n == 0:
        return []
    if chunk_size is None or n <= chunk_size:
        chunks = [np.arange(n)]
    else:
        perm = np.random.default_rng(seed).permutation(n)
        chunks = np.array_split(perm, math.ceil(n / chunk_size))
    clusters = []
    for rows in chunks:
        local = _butina_chunk([fps[i] for i in rows], cutoff)
        clusters.extend(rows[c].astype(np.int64) for c in local)
    sizes = np.array([len(c) for c in clusters])
    order = np.argsort(-sizes, kind='stable')
    return [clusters[i] for i in order]


def butina_batch_order(smiles: Sequence[str], batch_size: int, cutoff: float = 0.85, seed: int = 0, *,
                       chunk_size: Optional[int] = 4096, shuffle_batches: bool = False, radius: int = 2,
                       n_bits: int = 1024) -> np.ndarray:
    r"""Row order giving KCL's hard-negative batches (`"Molecular Contrastive Learning with Chemical Element
    Knowledge Graph" (Fang et al., AAAI 2022) <https://arxiv.org/abs/2112.00544>`_): molecules are Butina-clustered
    on Morgan fingerprints (radius 2, 1024 bits) at Tanimoto distance ``cutoff`` (:func:`butina_clusters`,
    chunked beyond ``chunk_size`` molecules), and batches are filled from the clusters, largest first, so a batch
    holds similar molecules that serve as hard negatives for each other. Use it with ``shuffle=False``:
    ``batch k = order[k * batch_size:(k + 1) * batch_size]``.

    Packing rule: every cluster occupies a contiguous block of the order. Clusters are laid out largest first;
    when the next cluster is no larger than ``batch_size`` but would straddle a batch boundary, the gap is first
    filled with the smallest remaining clusters that fit (singletons, typically), so such a cluster starts a fresh
    batch whenever enough small clusters are left.
    Clusters larger than ``batch_size`` span several consecutive batches. All batches but the last are full.

    Args:
        smiles (Sequence[str]): SMILES strings (all must parse).
        batch_size (int): batch size of the training loader.
        cutoff (float, optional): Tanimoto distance threshold. (default: :obj:`0.85`, KCL)
        seed (int, optional): seed of the chunk assignment and of ``shuffle_batches``. (default: :obj:`0`)
        chunk_size (int, optional): see :func:`butina_clusters`. (default: :obj:`4096`)
        shuffle_batches (bool, optional): shuffle the order of the full batches with ``seed`` (their content is
            kept, a partial last batch stays last), so that training does not see all large-cluster batches first.
            (default: :obj:`False`, KCL's fixed order)
        radius (int, optional): Morgan radius. (default: :obj:`2`)
        n_bits (int, optional): fingerprint length. (default: :obj:`1024`)

    Returns:
        int64 permutation of ``range(len(smiles))``.

    Example:
        >>> butina_batch_order(['CCO', 'c1ccccc1', 'CCO', 'Cc1ccccc1'], batch_size=2, cutoff=0.7).tolist()
        [2, 0, 3, 1]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"Expected 'batch_size' to be a positive int (got {batch_size!r})")
    clusters = butina_clusters(smiles, cutoff, chunk_size=chunk_size, seed=seed, radius=radius, n_bits=n_bits)
    pending = deque(clusters)  # largest first; the smallest sit at the right end
    placed: List[np.ndarray] = []
    filled = 0
    while pending:
        group = pending.popleft()
        room = batch_size - filled % batch_size
        if len(group) <= batch_size and len(group) > room:
            while pending and len(pending[-1]) <= room and room > 0:
                small = pending.pop()
                placed.append(small)
                filled += len(small)
                room -= len(small)
        placed.append(group)
        filled += len(group)
    order = np.concatenate(placed) if placed else np.zeros(0, dtype=np.int64)
    if shuffle_batches and len(order) >= 2 * batch_size:
        full = len(order) // batch_size  # a partial last batch stays last, so batches keep their boundaries
        perm = np.random.default_rng(seed).permutation(full)
        head = order[:full * batch_size].reshape(full, batch_size)[perm].reshape(-1)
        order = np.concatenate([head, order[full * batch_size:]])
    return order.astype(np.int64)
