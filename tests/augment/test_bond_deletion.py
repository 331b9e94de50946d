import pytest
import torch
from augment_testing import assert_unchanged, is_undirected, snapshot
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from graphcl.augment.bond_deletion import BondDeletion
from graphcl.augment.element_knowledge import ElementKnowledgeAugment

ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O'  # 13 atoms, 13 bonds


def _coded(smiles):
    """A molecule whose edge_attr rows encode their own endpoints, so that alignment can be checked."""
    mol = from_smiles(smiles)
    n = mol.num_nodes
    code = mol.edge_index[0] * n + mol.edge_index[1]
    mol.edge_attr = torch.stack([code, -code, mol.edge_attr[:, 0]], 1)
    return mol


def _bonds(data):
    ei = data.edge_index
    return {(min(u, v), max(u, v)) for u, v in ei.t().tolist()}


@pytest.mark.parametrize('smiles,p,k', [('CCCCC', 0.5, 2), (ASPIRIN, 0.25, 3), (ASPIRIN, 1.0, 13), ('CCO', 0.25, 0),
                                        ('CCO', 0.5, 1)])
def test_exact_counts_both_directions_and_alignment(smiles, p, k):
    mol = _coded(smiles)
    n, num_bonds = mol.num_nodes, mol.num_edges // 2
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        out = BondDeletion(p, generator=g)(mol)
        assert out.edge_index.size(1) == 2 * (num_bonds - k)  # floor(p B) bonds, both directions each
        assert is_undirected(out.edge_index, n)
        assert _bonds(out) <= _bonds(mol) and len(_bonds(out)) == num_bonds - k
        assert torch.equal(out.edge_attr[:, 0], out.edge_index[0] * n + out.edge_index[1])
        assert torch.equal(out.edge_attr[:, 1], -out.edge_attr[:, 0])
        assert torch.equal(out.x, mol.x)  # atoms are kept


def test_p_zero_is_identity_and_input_untouched():
    mol = _coded(ASPIRIN)
    snap = snapshot(mol)
    out = BondDeletion(0.0)(mol)
    assert torch.equal(out.edge_index, mol.edge_index) and torch.equal(out.edge_attr, mol.edge_attr)
    BondDeletion(0.5, generator=torch.Generator().manual_seed(0))(mol)
    assert_unchanged(mol, snap)


def test_seeded_determinism_and_uniformity():
    mol = _coded(ASPIRIN)
    a = BondDeletion(0.25, generator=torch.Generator().manual_seed(7))
    b = BondDeletion(0.25, generator=torch.Generator().manual_seed(7))
    v1, v2 = a(mol), a(mol)
    assert torch.equal(v1.edge_index, b(mol).edge_index) and torch.equal(v2.edge_index, b(mol).edge_index)
    deleted = {bond: 0 for bond in _bonds(mol)}
    for _ in range(1300):
        for bond in _bonds(mol) - _bonds(a(mol)):
            deleted[bond] += 1
    # each bond is deleted with probability 3/13: 300 expected times, sd ~15
    assert max(abs(c - 300) for c in deleted.values()) < 75


def test_batch_counts_per_molecule():
    mols = [_coded('CCO'), _coded(ASPIRIN), _coded('CCCCCCCCC')]
    batch = Batch.from_data_list(mols)
    out = BondDeletion(0.25, generator=torch.Generator().manual_seed(0))(batch)
    parts = out.to_data_list()
    assert [d.num_edges // 2 for d in parts] == [2 - 0, 13 - 3, 8 - 2]
    for mol, part in zip(mols, parts):
        assert _bonds(part) <= _bonds(mol) and is_undirected(part.edge_index, mol.num_nodes)


def test_kg_edges_are_not_bonds():
    aug = ElementKnowledgeAugment()(from_smiles('CCCCC'))
    out = BondDeletion(1.0, generator=torch.Generator().manual_seed(0))(aug)
    assert (out.edge_type == 1).all() and out.edge_index.size(1) == aug.edge_index.size(1) - 8
    assert torch.equal(out.kg_relation, aug.kg_relation[aug.edge_type == 1])


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"'p'.*\[0, 1\].*-0.1"):
        BondDeletion(-0.1)
    assert repr(BondDeletion(0.2)) == 'BondDeletion(p=0.2)'
