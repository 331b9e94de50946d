import numpy as np
import pytest
import torch
from augment_testing import assert_unchanged, snapshot
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path
from torch_geometric.data import Batch
from torch_geometric.utils import from_smiles, subgraph

from graphcl.augment.element_knowledge import ElementKnowledgeAugment
from graphcl.augment.subgraph_removal import SubgraphRemoval

ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O'  # 13 atoms


def _hops(mol):
    n = mol.num_nodes
    ei = mol.edge_index.numpy()
    adj = coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n)).tocsr()
    return shortest_path(adj, unweighted=True)


def _is_bfs_ball(removed, hops):
    """Some removed atom s has every atom nearer to s than the farthest removed one removed too (a BFS prefix)."""
    removed = set(removed)
    for s in removed:
        d = hops[s]
        if not np.all(np.isfinite(d[list(removed)])):
            continue
        radius = max(d[list(removed)])
        if all(v in removed for v in np.nonzero(d < radius)[0]):
            return True
    return False


@pytest.mark.parametrize('smiles,p,k', [('CCCCCC', 0.5, 3), (ASPIRIN, 0.25, 3), (ASPIRIN, 0.5, 6), ('CCO', 0.25, 0),
                                        ('c1ccccc1', 1.0, 6)])
def test_exact_counts_connected_bfs_ball_and_reindexing(smiles, p, k):
    mol = from_smiles(smiles)
    mol.y = torch.tensor([[0.5]])
    hops = _hops(mol)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        out = SubgraphRemoval(p, generator=g)(mol)
        assert out.num_nodes == mol.num_nodes - k and out.x.size(0) == mol.num_nodes - k
        kept = out.n_id if k else torch.arange(mol.num_nodes)
        assert torch.equal(out.x, mol.x[kept])
        removed = sorted(set(range(mol.num_nodes)) - set(kept.tolist()))
        if k:
            assert _is_bfs_ball(removed, hops), removed
            sub = hops[np.ix_(removed, removed)]
            assert np.isfinite(sub).all()  # the removed atoms are connected (within a molecule's component)
        ref_ei, ref_attr = subgraph(kept, mol.edge_index, mol.edge_attr, relabel_nodes=True,
                                    num_nodes=mol.num_nodes)
        assert torch.equal(out.edge_index, ref_ei) and torch.equal(out.edge_attr, ref_attr)
        assert torch.equal(out.y, mol.y)


def test_star_centre_always_removed():
    # neopentane: centre 1 bonded to 0, 2, 3, 4; k = floor(0.4 * 5) = 2. From a leaf the ball is {leaf, centre};
    # from the centre it is {centre, one random leaf}: the centre always goes, every leaf sometimes does.
    mol = from_smiles('CC(C)(C)C')
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(100):
        out = SubgraphRemoval(0.4, generator=g)(mol)
        assert out.num_nodes == 3 and 1 not in out.n_id.tolist()
        seen |= set(range(5)) - set(out.n_id.tolist())
    assert seen == {0, 1, 2, 3, 4}


def test_disconnected_molecule_removes_only_the_start_component():
    mol = from_smiles('CCCCCCCC.[Na+]')  # 9 atoms, k = 2; sodium (atom 8) is its own component
    g = torch.Generator().manual_seed(0)
    sizes = set()
    for _ in range(200):
        out = SubgraphRemoval(0.25, generator=g)(mol)
        sizes.add(out.num_nodes)
        if out.num_nodes == 8:
            assert out.n_id.tolist() == list(range(8))  # started on the sodium: only it is removed
        else:
            assert out.num_nodes == 7 and 8 in out.n_id.tolist()
    assert sizes == {7, 8}


def test_p_zero_is_identity_input_untouched_and_determinism():
    mol = from_smiles(ASPIRIN)
    snap = snapshot(mol)
    same = SubgraphRemoval(0.0)(mol)
    assert torch.equal(same.x, mol.x) and torch.equal(same.edge_index, mol.edge_index)
    a = SubgraphRemoval(0.25, generator=torch.Generator().manual_seed(3))
    b = SubgraphRemoval(0.25, generator=torch.Generator().manual_seed(3))
    views = [a(mol) for _ in range(4)]
    for v in views:
        assert torch.equal(v.n_id, b(mol).n_id)
    assert len({tuple(v.n_id.tolist()) for v in views}) > 1
    assert_unchanged(mol, snap)


def test_batch_counts_per_molecule():
    mols = [from_smiles('CCO'), from_smiles(ASPIRIN), from_smiles('CCCCCCCC')]
    out = SubgraphRemoval(0.5, generator=torch.Generator().manual_seed(0))(Batch.from_data_list(mols))
    parts = out.to_data_list()
    assert [d.num_nodes for d in parts] == [3 - 1, 13 - 6, 8 - 4]
    for mol, part, offset in zip(mols, parts, [0, 3, 16]):
        kept = part.n_id - offset  # n_id indexes the nodes of the input batch
        assert ((kept >= 0) & (kept < mol.num_nodes)).all()
        ref_ei, _ = subgraph(kept, mol.edge_index, relabel_nodes=True, num_nodes=mol.num_nodes)
        assert torch.equal(part.edge_index, ref_ei)
        assert _is_bfs_ball(sorted(set(range(mol.num_nodes)) - set(kept.tolist())), _hops(mol))


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"'p'.*\[0, 1\].*2"):
        SubgraphRemoval(2)
    with pytest.raises(ValueError, match='before ElementKnowledgeAugment'):
        SubgraphRemoval(0.5)(ElementKnowledgeAugment()(from_smiles('CCO')))
    assert repr(SubgraphRemoval()) == 'SubgraphRemoval(p=0.25)'
