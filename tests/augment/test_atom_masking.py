import pytest
import torch
from augment_testing import assert_unchanged, snapshot
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from graphcl.augment.atom_masking import ATOM_MASK_VALUES, AtomMasking, random_rank_in_groups
from graphcl.augment.element_knowledge import ElementKnowledgeAugment

ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O'  # 13 heavy atoms
MASK = torch.tensor(ATOM_MASK_VALUES)


def _masked(out):
    return (out.x == MASK).all(1)


def test_mask_values():
    # vocabulary sizes of PyG's x_map columns (atomic_num 0..118, chirality, degree, ...)
    assert ATOM_MASK_VALUES == (119, 9, 11, 12, 9, 5, 8, 2, 2)


@pytest.mark.parametrize('smiles,p,k', [('CCO', 0.25, 1), ('C', 0.25, 1), (ASPIRIN, 0.25, 3), (ASPIRIN, 0.5, 6),
                                        (ASPIRIN, 1.0, 13), ('CCO', 0.7, 2)])
def test_exact_counts(smiles, p, k):
    mol = from_smiles(smiles)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        out = AtomMasking(p, generator=g)(mol)
        masked = _masked(out)
        assert int(masked.sum()) == k  # max(1, floor(p N))
        assert torch.equal(out.x[~masked], mol.x[~masked])  # the other atoms are untouched
        assert torch.equal(out.edge_index, mol.edge_index)


def test_p_zero_is_identity_and_input_untouched():
    mol = from_smiles(ASPIRIN)
    snap = snapshot(mol)
    assert torch.equal(AtomMasking(0.0)(mol).x, mol.x)
    out = AtomMasking(0.25, generator=torch.Generator().manual_seed(0))(mol)
    assert out is not mol and not torch.equal(out.x, mol.x)
    assert_unchanged(mol, snap)


def test_seeded_determinism_and_uniformity():
    mol = from_smiles(ASPIRIN)
    a = AtomMasking(0.25, generator=torch.Generator().manual_seed(7))
    b = AtomMasking(0.25, generator=torch.Generator().manual_seed(7))
    v1, v2 = a(mol), a(mol)
    assert torch.equal(v1.x, b(mol).x) and torch.equal(v2.x, b(mol).x)
    counts = torch.zeros(13)
    for _ in range(1300):
        counts += _masked(a(mol)).float()
    # each atom is masked with probability 3/13: 300 expected times, sd ~15
    assert (counts - 300).abs().max() < 75


def test_batch_counts_per_molecule():
    batch = Batch.from_data_list([from_smiles('CCO'), from_smiles(ASPIRIN), from_smiles('CCCCCCCC')])
    out = AtomMasking(0.25, generator=torch.Generator().manual_seed(0))(batch)
    per_graph = torch.bincount(out.batch[_masked(out)], minlength=3)
    assert per_graph.tolist() == [1, 3, 2]
    assert [d.x.size(0) for d in out.to_data_list()] == [3, 13, 8]


def test_only_atoms_of_kg_augmented_molecule():
    aug = ElementKnowledgeAugment()(from_smiles('CCO'))
    out = AtomMasking(1.0, generator=torch.Generator().manual_seed(0))(aug)
    assert _masked(out)[:3].all() and (out.x[3:] == 0).all()  # attribute nodes are neither masked nor counted


def test_random_rank_in_groups():
    group = torch.tensor([1, 0, 1, 1, 2, 0])
    rank = random_rank_in_groups(group, 3, torch.Generator().manual_seed(0))
    for g, n in ((0, 2), (1, 3), (2, 1)):
        assert sorted(rank[group == g].tolist()) == list(range(n))


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"'p'.*\[0, 1\].*1.5"):
        AtomMasking(1.5)
    with pytest.raises(ValueError, match=r"'data.x'.*\(N, 2\).*\(3, 9\)"):
        AtomMasking(0.5, mask_values=[5, 5])(from_smiles('CCO'))
    assert repr(AtomMasking()) == 'AtomMasking(p=0.25)'
