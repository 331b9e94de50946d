import numpy as np
import pytest

pytest.importorskip('rdkit')
from rdkit import Chem  # noqa: E402
from rdkit.Chem.Scaffolds import MurckoScaffold  # noqa: E402

from graphcl.data.root import data_root  # noqa: E402
from graphcl.molecules.smiles_file import read_smiles_file  # noqa: E402
from graphcl.molecules.splits import murcko_scaffold, random_split, scaffold_split  # noqa: E402

# scaffolds: benzene x4 (rows 0, 2, 5, 8), pyridine x2 (rows 3, 6), cyclohexane x2 (rows 1, 9), '' x1 (row 4),
# naphthalene x1 (row 7)
SMILES = ['Cc1ccccc1', 'C1CCCCC1O', 'Oc1ccccc1', 'Cc1ccncc1', 'CCCO', 'Nc1ccccc1', 'Oc1ccncc1', 'c1ccc2ccccc2c1C',
          'Clc1ccccc1', 'NC1CCCCC1']
SCAFFOLD_OF = {0: 'c1ccccc1', 2: 'c1ccccc1', 5: 'c1ccccc1', 8: 'c1ccccc1', 3: 'c1ccncc1', 6: 'c1ccncc1',
               1: 'C1CCCCC1', 9: 'C1CCCCC1', 4: '', 7: 'c1ccc2ccccc2c1'}


def _scaffolds(smiles):
    return [MurckoScaffold.MurckoScaffoldSmiles(mol=Chem.MolFromSmiles(s), includeChirality=False) for s in smiles]


def _assert_partition(parts, n):
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(n))
    assert all(p.dtype == np.int64 and np.array_equal(p, np.sort(p)) for p in parts)


def _assert_no_shared_scaffold(parts, scaffolds):
    sets = [{scaffolds[i] for i in p} for p in parts]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])


def test_murcko_scaffold_hand_cases():
    assert [murcko_scaffold(SMILES[i]) for i in range(10)] == [SCAFFOLD_OF[i] for i in range(10)]
    assert murcko_scaffold('C[C@H](N)c1ccccc1') == 'c1ccccc1'
    assert murcko_scaffold('C1CC') is None


def test_deterministic_split_hand_computed():
    # sizes: benzene 4, pyridine 2 (first at row 3), cyclohexane 2 (first at row 1), '' 1 (row 4), naphthalene 1
    # sorted by (size, first row) decreasing, as Hu et al.: benzene, pyridine (row 3), cyclohexane (row 1),
    # naphthalene (row 7), '' (row 4); frac (0.6, 0.2, 0.2), n=10 -> train cut 6, valid cut 8:
    # benzene -> train (4), pyridine -> train (6), cyclohexane -> 8 > 6 and 6+0+2 <= 8 -> valid,
    # naphthalene -> valid would be 9 > 8 -> test, '' -> test
    train, valid, test = scaffold_split(SMILES, frac=(0.6, 0.2, 0.2))
    assert train.tolist() == [0, 2, 3, 5, 6, 8]
    assert valid.tolist() == [1, 9]
    assert test.tolist() == [4, 7]
    again = scaffold_split(SMILES, frac=(0.6, 0.2, 0.2))
    assert all(np.array_equal(a, b) for a, b in zip((train, valid, test), again))


def test_balanced_split_is_seeded_and_scaffold_pure():
    scaffolds = [SCAFFOLD_OF[i] for i in range(10)]
    splits = set()
    for seed in range(6):
        parts = scaffold_split(SMILES, frac=(0.6, 0.2, 0.2), seed=seed)
        _assert_partition(parts, 10)
        _assert_no_shared_scaffold(parts, scaffolds)
        again = scaffold_split(SMILES, frac=(0.6, 0.2, 0.2), seed=seed)
        assert all(np.array_equal(a, b) for a, b in zip(parts, again))
        splits.add(tuple(tuple(p.tolist()) for p in parts))
    assert len(splits) > 1


def test_balanced_split_big_sets_first():
    # six benzene derivatives (rows 0, 2, 4, 6, 8, 10) and six singleton scaffolds; frac (0.5, 0.25, 0.25), n = 12:
    # n_train = 6, n_valid = 3, n_test = 3; only the benzene set is larger than n_valid / 2 = 1.5, so it is placed
    # first whatever the seed and fills train exactly; the shuffled singletons then fill valid (3) and test (3).
    smiles = ['Cc1ccccc1', 'CC1CC1', 'Oc1ccccc1', 'OC1CCC1', 'Nc1ccccc1', 'NC1CCCC1', 'Clc1ccccc1', 'c1ccncc1',
              'Fc1ccccc1', 'c1ccc2ccccc2c1', 'OC(=O)c1ccccc1', 'c1ccsc1']
    valids = set()
    for seed in range(6):
        train, valid, test = scaffold_split(smiles, frac=(0.5, 0.25, 0.25), seed=seed)
        assert train.tolist() == [0, 2, 4, 6, 8, 10]
        assert len(valid) == 3 and len(test) == 3
        valids.add(tuple(valid.tolist()))
    assert len(valids) > 1  # the singletons are shuffled by the seed


def test_scaffold_split_on_bbbp_fractions():
    path = data_root() / 'moleculenet' / 'chemprop_b83635b' / 'BBBP.csv'
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    smiles = read_smiles_file(path)[:600]
    scaffolds = _scaffolds(smiles)
    n = len(smiles)
    for seed in (None, 0, 1):
        parts = scaffold_split(smiles, seed=seed)
        _assert_partition(parts, n)
        _assert_no_shared_scaffold(parts, scaffolds)
        assert abs(len(parts[0]) - 0.8 * n) <= 0.02 * n
        assert abs(len(parts[1]) - 0.1 * n) <= 0.02 * n
    default = scaffold_split(smiles)
    # the standard split fills train with the largest scaffold sets: the biggest one is in train
    counts = {}
    for s in scaffolds:
        counts[s] = counts.get(s, 0) + 1
    biggest = max(counts, key=counts.get)
    assert all(scaffolds[i] != biggest for i in np.concatenate(default[1:]))
    assert not all(np.array_equal(a, b) for a, b in zip(scaffold_split(smiles, seed=0),
                                                       scaffold_split(smiles, seed=1)))


def test_random_split():
    train, valid, test = random_split(10, (0.8, 0.1, 0.1), seed=0)
    assert (len(train), len(valid), len(test)) == (8, 1, 1)
    _assert_partition((train, valid, test), 10)
    perm = np.random.default_rng(0).permutation(10)
    assert train.tolist() == sorted(perm[:8].tolist()) and valid.tolist() == [perm[8]]
    assert [p.tolist() for p in random_split(10, seed=0)] == [p.tolist() for p in (train, valid, test)]
    assert [len(p) for p in random_split(7, (0.5, 0.5, 0.0), seed=3)] == [4, 3, 0]  # round(3.5) = 4
    assert [len(p) for p in random_split(0, seed=1)] == [0, 0, 0]


@pytest.mark.parametrize('frac, match', [
    ((0.8, 0.1), 'three fractions'),
    ((0.8, 0.3, -0.1), 'non-negative'),
    ((0.8, 0.1, 0.2), r'sum to 1 \(got \(0\.8, 0\.1, 0\.2\), sum 1\.1\)'),
])
def test_fraction_validation(frac, match):
    with pytest.raises(ValueError, match=match):
        random_split(10, frac)
    with pytest.raises(ValueError, match=match):
        scaffold_split(SMILES, frac)


def test_invalid_inputs():
    with pytest.raises(ValueError, match=r"cannot parse 1 of them \(0-based rows: row 1 'C1CC'\)"):
        scaffold_split(['CCO', 'C1CC'])
    with pytest.raises(ValueError, match=r"'n'.*\(got -1\)"):
        random_split(-1)
