import pytest
import torch
from augment_testing import assert_unchanged, snapshot
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles

from graphcl.augment.element_knowledge import ElementKnowledgeAugment
from graphcl.molecules.element_kg import build_element_kg


@pytest.fixture(scope='module')
def kg():
    return build_element_kg()


@pytest.fixture(scope='module')
def aug(kg):
    return ElementKnowledgeAugment(kg)


def _attrs(kg, symbol):
    """{attribute entity: relation} of one element, read from the triples (the hand computation)."""
    e = kg.entities.index(symbol)
    return {h: r for h, r, t in kg.triples.tolist() if t == e}


def _kg_edges(out):
    """(attribute entity, atom, relation) of each KG edge, attribute -> atom."""
    mask = out.edge_type == 1
    src, dst = out.edge_index[:, mask]
    return list(zip(out.kg_entity[src].tolist(), dst.tolist(), out.kg_relation[mask].tolist()))


def test_ethanol(kg, aug):
    mol = from_smiles('CCO')
    out = aug(mol)
    c, o = _attrs(kg, 'C'), _attrs(kg, 'O')
    assert len(c) == len(o) == 15  # C and O have a value for every relation
    shared = set(c) & set(o)
    names = {kg.entities[a] for a in shared}
    assert {'Period2', 'ReactiveNonmetals', 'Weight1'} <= names and 'Solid' not in names
    m = len(set(c) | set(o))
    assert (m, len(shared)) == (22, 8)
    # atoms first and untouched, then attribute nodes (x rows zero), entity order
    assert out.num_nodes == 3 + m
    assert out.node_type.tolist() == [0] * 3 + [1] * m
    assert torch.equal(out.x[:3], mol.x) and (out.x[3:] == 0).all()
    assert out.kg_entity[3:].tolist() == sorted(set(c) | set(o)) and (out.kg_entity[:3] == 0).all()
    # bonds first in their order, then 2 * 15 + 15 KG edges attribute -> atom
    assert out.edge_type.tolist() == [0] * 4 + [1] * 45
    assert torch.equal(out.edge_index[:, :4], mol.edge_index) and torch.equal(out.edge_attr[:4], mol.edge_attr)
    assert (out.edge_attr[4:] == 0).all() and (out.kg_relation[:4] == 0).all()
    expected = sorted([(a, 0, r) for a, r in c.items()] + [(a, 1, r) for a, r in c.items()]
                      + [(a, 2, r) for a, r in o.items()])
    assert sorted(_kg_edges(out)) == expected
    # one shared Period2 node links all three heavy atoms; per relation: 3 edges each
    period2 = kg.entities.index('Period2')
    node = (out.kg_entity == period2).nonzero().view(-1)
    assert node.numel() == 1 and int(node) >= 3
    assert sorted(out.edge_index[1, out.edge_index[0] == node].tolist()) == [0, 1, 2]
    assert torch.bincount(out.kg_relation[4:], minlength=15).tolist() == [3] * 15
    # distinct attributes: Family14 to the two carbons, Family16 to the oxygen
    for name, atoms in (('Family14', [0, 1]), ('Family16', [2])):
        node = int((out.kg_entity == kg.entities.index(name)).nonzero())
        assert sorted(out.edge_index[1, out.edge_index[0] == node].tolist()) == atoms
    assert out.smiles == 'CCO'


def test_benzene_and_bidirectional(kg):
    mol = from_smiles('c1ccccc1')
    out = ElementKnowledgeAugment(kg)(mol)
    c = _attrs(kg, 'C')
    assert out.num_nodes == 6 + 15 and out.edge_index.size(1) == 12 + 6 * 15
    deg = torch.bincount(out.edge_index[0, out.edge_type == 1], minlength=out.num_nodes)
    assert (deg[6:] == 6).all() and (deg[:6] == 0).all()  # every attribute node reaches all six carbons
    assert sorted(out.kg_entity[6:].tolist()) == sorted(c)

    both = ElementKnowledgeAugment(kg, bidirectional=True)(mol)
    assert both.edge_index.size(1) == 12 + 2 * 90 and both.edge_type.tolist() == [0] * 12 + [1] * 180
    fwd, rev = both.edge_index[:, 12:102], both.edge_index[:, 102:]
    assert torch.equal(fwd, out.edge_index[:, 12:]) and torch.equal(rev, fwd.flip(0))
    assert torch.equal(both.kg_relation[12:102], both.kg_relation[102:])


def test_input_untouched_and_batching(aug):
    mol = from_smiles('CC(=O)[O-].[Na+]')
    mol.y = torch.tensor([[1.0, 0.0]])
    snap = snapshot(mol)
    out = aug(mol)
    assert_unchanged(mol, snap)
    assert out.y.shape == (1, 2)  # graph-level label kept as is
    na = out.edge_index[1, out.edge_type == 1] == 4  # the bond-less sodium still gets its attributes
    assert int(na.sum()) > 0
    batch = Batch.from_data_list([aug(from_smiles('CCO')), out])
    back = batch.to_data_list()[1]
    assert torch.equal(back.edge_index, out.edge_index) and torch.equal(back.kg_entity, out.kg_entity)


def test_dummy_atom_has_no_attributes(aug):
    out = aug(from_smiles('*C'))  # atomic number 0
    assert not (out.edge_index[1, out.edge_type == 1] == 0).any()
    assert out.num_nodes == 2 + 15


def test_errors_and_repr(kg, aug):
    with pytest.raises(ValueError, match='Batch'):
        aug(Batch.from_data_list([from_smiles('C'), from_smiles('O')]))
    with pytest.raises(ValueError, match="already has 'node_type'"):
        aug(aug(from_smiles('C')))
    bad = from_smiles('C')
    bad.x = bad.x.float()
    with pytest.raises(ValueError, match="'data.x'"):
        aug(bad)
    bad = from_smiles('C')
    bad.x = bad.x.clone()
    bad.x[0, 0] = 130
    with pytest.raises(ValueError, match=r'\[0, 118\].*130'):
        aug(bad)
    with pytest.raises(TypeError, match="'kg'"):
        ElementKnowledgeAugment('kg')
    assert repr(aug) == 'ElementKnowledgeAugment(bidirectional=False)'
