import pytest
import torch
from torch_geometric.utils.smiles import e_map, x_map

from graphcl.nn.atom_encoder import AtomEncoder, BondEncoder


def test_sizes_follow_pyg_maps_with_a_mask_row():
    enc = AtomEncoder(8)
    assert [e.num_embeddings for e in enc.embeddings] == [len(v) + 1 for v in x_map.values()]
    assert [e.num_embeddings for e in BondEncoder(4).embeddings] == [len(v) + 1 for v in e_map.values()]
    assert enc.embeddings[0].num_embeddings == 120  # atomic numbers 0..118 + MASK


def test_sum_of_column_embeddings_hand_computed():
    torch.manual_seed(0)
    enc = AtomEncoder(6)
    x = torch.tensor([[6, 0, 4, 5, 3, 0, 4, 1, 1],
                      [119, 9, 11, 12, 9, 5, 8, 2, 2]])  # second row: MASK value in every column
    expected = torch.stack([sum(enc.embeddings[c].weight[x[r, c]] for c in range(9)) for r in range(2)])
    assert torch.allclose(enc(x), expected)


def test_column_subset_reads_only_those_columns():
    torch.manual_seed(0)
    enc = AtomEncoder(5, columns=(0,))
    x = torch.randint(0, 2, (4, 9))
    x[:, 0] = torch.tensor([1, 6, 8, 119])
    out = enc(x)
    assert torch.equal(out, enc.embeddings[0].weight[x[:, 0]])
    x2 = x.clone()
    x2[:, 1:] = 0  # other columns do not matter
    assert torch.equal(enc(x2), out)
    assert "columns=(0,)" in str(enc)


def test_bond_encoder_and_gradients():
    torch.manual_seed(0)
    enc = BondEncoder(4, columns=(0, 2))
    ea = torch.tensor([[1, 3, 0], [12, 0, 1]])
    out = enc(ea)
    w0, w2 = enc.embeddings[0].weight, enc.embeddings[1].weight
    assert torch.allclose(out, torch.stack([w0[1] + w2[0], w0[12] + w2[1]]))
    out.sum().backward()
    assert w0.grad[[1, 12]].abs().sum() > 0 and w0.grad[0].abs().sum() == 0


def test_errors():
    with pytest.raises(ValueError, match=r"'columns'.*\[0, 8\].*\(got \(9,\)\)"):
        AtomEncoder(4, columns=(9,))
    with pytest.raises(ValueError, match=r"'emb_dim'.*\(got 0\)"):
        AtomEncoder(0)
    with pytest.raises(ValueError, match=r"shape \(N, 3\) \(got \(2, 9\)\)"):
        BondEncoder(4)(torch.zeros(2, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="torch.long"):
        AtomEncoder(4)(torch.zeros(2, 9))
