import numpy as np
import pytest

pytest.importorskip('rdkit')
from rdkit import Chem, DataStructs, rdBase  # noqa: E402
from rdkit.Chem import rdFingerprintGenerator  # noqa: E402
from rdkit.ML.Cluster import Butina  # noqa: E402

from graphcl.data.root import data_root  # noqa: E402
from graphcl.molecules.fingerprints import butina_batch_order, butina_clusters, morgan_fingerprints  # noqa: E402
from graphcl.molecules.smiles_file import read_smiles_file  # noqa: E402

A, B = 'OCCc1ccccc1', 'CC(=O)Nc1ccc(O)cc1'
# A at rows 0, 2, 4, 6, 8, 10; B at rows 1, 5, 9; four mutually dissimilar singletons at rows 3, 7, 11, 12
HAND = [A, B, A, 'ClCCl', A, B, A, 'C1CCCCC1', A, B, A, 'O=C=O', 'CCCCCCCCCC']


def _bbbp(n):
    path = data_root() / 'moleculenet' / 'chemprop_b83635b' / 'BBBP.csv'
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    with rdBase.BlockLogs():
        smiles = [s for s in read_smiles_file(path) if Chem.MolFromSmiles(s) is not None]
    return smiles[:n]


def _rdkit_butina(smiles, cutoff):
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    dists = []
    for i in range(1, len(fps)):
        dists.extend(1.0 - np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])))
    return Butina.ClusterData(dists, len(fps), cutoff, isDistData=True)


def test_morgan_fingerprints_match_rdkit():
    smiles = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1']
    fp = morgan_fingerprints(smiles)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    ref = np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles])
    assert fp.shape == (3, 1024) and fp.dtype == np.uint8
    assert np.array_equal(fp, ref)
    assert morgan_fingerprints(smiles, radius=1, n_bits=64).shape == (3, 64)
    with pytest.raises(ValueError, match=r"cannot parse 1 of them \(0-based rows: row 1 'C1CC'\)"):
        morgan_fingerprints(['CCO', 'C1CC'])
    with pytest.raises(ValueError, match=r"'n_bits'.*\(got 0\)"):
        morgan_fingerprints(['CCO'], n_bits=0)


def test_hand_clusters_identical_molecules_together():
    clusters = butina_clusters(HAND, cutoff=0.3)
    # RDKit's order: centroid = most neighbours, ties -> larger index; then its members ascending
    assert [c.tolist() for c in clusters] == [[10, 0, 2, 4, 6, 8], [9, 1, 5], [12], [11], [7], [3]]


@pytest.mark.parametrize('cutoff', [0.85, 0.6])
def test_single_chunk_equals_rdkit_butina(cutoff):
    smiles = _bbbp(250)
    ref = sorted(_rdkit_butina(smiles, cutoff), key=len, reverse=True)  # stable: keeps RDKit's order on ties
    ours = butina_clusters(smiles, cutoff, chunk_size=None)
    assert [c.tolist() for c in ours] == [list(c) for c in ref]


def test_chunked_clusters_partition_and_seed():
    smiles = _bbbp(300)
    clusters = butina_clusters(smiles, chunk_size=100, seed=1)
    rows = np.concatenate(clusters)
    assert np.array_equal(np.sort(rows), np.arange(300))
    assert max(len(c) for c in clusters) <= 100  # a cluster never leaves its chunk of 100
    sizes = [len(c) for c in clusters]
    assert sizes == sorted(sizes, reverse=True)
    again = butina_clusters(smiles, chunk_size=100, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(clusters, again))
    other = butina_clusters(smiles, chunk_size=100, seed=2)
    assert [c.tolist() for c in other] != [c.tolist() for c in clusters]
    # chunks of the whole set (chunk_size >= n) reproduce the exact clustering
    exact = butina_clusters(smiles, chunk_size=None)
    assert [c.tolist() for c in butina_clusters(smiles, chunk_size=300, seed=5)] == [c.tolist() for c in exact]


def test_hand_batch_order_packs_clusters():
    # clusters A (6), B (3), singletons 12, 11, 7, 3 (pending order). batch_size 4: A fills batch 0 and half of
    # batch 1; B (3) does not fit the 2 free slots, so the two smallest remaining clusters (3, then 7) fill them and
    # B starts batch 2; the remaining singletons follow.
    order = butina_batch_order(HAND, batch_size=4, cutoff=0.3)
    assert order.tolist() == [10, 0, 2, 4, 6, 8, 3, 7, 9, 1, 5, 12, 11]
    assert order.dtype == np.int64


def test_small_clusters_never_straddle_batches_when_fillers_exist():
    triples = ['OCCc1ccccc1', 'CC(=O)Nc1ccc(O)cc1', 'CCN(CC)CC']
    fillers = ['ClCCl', 'C1CCCCC1', 'O=C=O', 'CCCCCCCCCC', 'FC(F)(F)F', 'OS(=O)(=O)O', 'C#C']
    smiles = fillers[:3] + triples * 3 + fillers[3:]
    order = butina_batch_order(smiles, batch_size=4, cutoff=0.3)
    assert sorted(order.tolist()) == list(range(16))
    batch_of = np.empty(16, dtype=np.int64)
    batch_of[order] = np.arange(16) // 4
    for k in range(3):  # rows of each triple: k + 3, k + 6, k + 9 -> one batch each
        assert len({batch_of[k + 3], batch_of[k + 6], batch_of[k + 9]}) == 1
    assert len({batch_of[k + 3] for k in range(3)}) == 3


def test_batch_order_properties_on_real_molecules():
    smiles = _bbbp(300)
    batch_size = 16
    order = butina_batch_order(smiles, batch_size=batch_size, chunk_size=120, seed=0)
    assert np.array_equal(np.sort(order), np.arange(300))
    position = np.empty(300, dtype=np.int64)
    position[order] = np.arange(300)
    for c in butina_clusters(smiles, chunk_size=120, seed=0):
        pos = np.sort(position[c])
        assert pos[-1] - pos[0] == len(c) - 1  # every cluster is one contiguous block
    # a batch mostly holds one cluster: within-batch similarity beats random batches
    fps = morgan_fingerprints(smiles).astype(np.float64)
    inter = fps @ fps.T
    counts = fps.sum(1)
    tanimoto = inter / (counts[:, None] + counts[None, :] - inter)

    def mean_batch_similarity(perm):
        vals = [tanimoto[np.ix_(b, b)][np.triu_indices(len(b), 1)].mean()
                for b in np.split(perm, np.arange(batch_size, len(perm), batch_size)) if len(b) > 1]
        return np.mean(vals)

    # KCL's loose cutoff (similarity >= 0.15) gives big loose clusters, so the gain is modest but consistent
    random_best = max(mean_batch_similarity(np.random.default_rng(s).permutation(300)) for s in range(5))
    assert mean_batch_similarity(order) > random_best + 0.005
    shuffled = butina_batch_order(smiles, batch_size=batch_size, chunk_size=120, seed=0, shuffle_batches=True)
    batches = lambda o: sorted(tuple(sorted(b)) for b in np.split(o, np.arange(batch_size, 300, batch_size)))  # noqa
    assert batches(shuffled) == batches(order) and not np.array_equal(shuffled, order)


def test_validation():
    with pytest.raises(ValueError, match=r"'batch_size'.*\(got 0\)"):
        butina_batch_order(['CCO'], batch_size=0)
    with pytest.raises(ValueError, match=r"'cutoff'.*\(got 1\.5\)"):
        butina_clusters(['CCO'], cutoff=1.5)
    with pytest.raises(ValueError, match=r"'chunk_size'.*\(got 0\)"):
        butina_clusters(['CCO'], chunk_size=0)
    assert butina_clusters([]) == [] and butina_batch_order([], batch_size=4).tolist() == []
