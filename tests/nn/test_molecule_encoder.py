import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GCNConv, GINConv
from torch_geometric.utils.smiles import e_map, x_map

from graphcl.nn.molecule_encoder import MoleculeEncoder
from graphcl.nn.readout import WeightedSumAndMax

ATOM_SIZES = [len(v) for v in x_map.values()]


def _molecule(seed, n=7, b=8):
    g = torch.Generator().manual_seed(seed)
    x = torch.stack([torch.randint(0, s, (n,), generator=g) for s in ATOM_SIZES], 1)
    src = torch.randint(0, n, (b,), generator=g)
    dst = (src + 1 + torch.randint(0, n - 1, (b,), generator=g)) % n
    ea = torch.stack([torch.randint(0, len(v), (b,), generator=g) for v in e_map.values()], 1)
    return Data(x=x, edge_index=torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]),
                edge_attr=torch.cat([ea, ea]))


def _permuted(d, seed):
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(d.num_nodes, generator=g)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    eperm = torch.randperm(d.num_edges, generator=g)
    return Data(x=d.x[perm], edge_index=inv[d.edge_index[:, eperm]], edge_attr=d.edge_attr[eperm])


def _kcl():
    torch.manual_seed(0)
    return MoleculeEncoder("gcn", hidden_channels=64, num_layers=2, readout="sum_max", residual=True,
                           atom_columns=[0])


def test_kcl_preset_matches_reference_settings():
    enc = _kcl()
    assert enc.embedding_channels == 128 and enc.out_channels == 128
    assert enc.atom_encoder.columns == (0,)
    assert enc.norms is None and enc.act_last and len(enc.acts) == 2
    assert all(isinstance(a, nn.GELU) for a in enc.acts)
    assert isinstance(enc.readout, WeightedSumAndMax)
    assert [c.mode for c in enc.convs] == ["gcn", "gcn"]


def test_graphcl_preset():
    torch.manual_seed(0)
    enc = MoleculeEncoder("gin", hidden_channels=300, num_layers=5, readout="mean")
    assert enc.out_channels == 300 and enc.embedding_channels == 300
    assert enc.atom_encoder.columns == (0, 1) and len(enc.norms) == 5 and len(enc.acts) == 4
    assert enc.convs[0].nn[0].out_features == 600  # Hu et al.'s MLP d -> 2d -> d
    batch = Batch.from_data_list([_molecule(s) for s in range(3)])
    assert enc(batch).shape == (3, 300)
    assert enc.node_embeddings(batch).shape == (batch.num_nodes, 300)


def test_kcl_layers_equal_pyg_gcn_with_residual():
    """h' = GELU(GCNConv(h)) + GELU(W_r h + b_r), two layers, then weighted sum + max."""
    enc = _kcl()
    d = _molecule(0)
    h = enc.atom_encoder(d.x)
    for conv, res in zip(enc.convs, enc.res_lins):
        ref = GCNConv(conv.in_channels, conv.out_channels)
        with torch.no_grad():
            ref.lin.weight.copy_(conv.lin.weight)
            conv.bias.normal_()
            ref.bias.copy_(conv.bias)
        h = F.gelu(ref(h, d.edge_index)) + F.gelu(res(h))
    assert torch.allclose(enc.node_embeddings(d), h, atol=1e-5)
    batch = torch.zeros(d.num_nodes, dtype=torch.long)
    assert torch.allclose(enc(d), enc.readout(h, batch, 1), atol=1e-5)


@pytest.mark.parametrize("bonds", [True, False])
def test_gin_layers_equal_hu_et_al_gin_with_batch_norm(bonds):
    """GIN layer l: BN(MLP(x_i + sum_j (x_j + W_e b_ji + c_e))) with b = the bond embedding (Hu et al., MolCLR), by
    hand; without bond features PyG's GINConv."""
    torch.manual_seed(0)
    enc = MoleculeEncoder("gin", hidden_channels=6, num_layers=2, readout="sum", bond_features=bonds).eval()
    for bn in enc.norms:  # non-trivial running statistics
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    d = _molecule(1)
    h = enc.atom_encoder(d.x)
    src, dst = d.edge_index
    for l, conv in enumerate(enc.convs):
        if bonds:
            b = sum(emb(d.edge_attr[:, c]) for c, emb in zip(enc.bond_encoder.columns, enc.bond_encoder.embeddings))
            messages = h[src] + conv.lin_edge(b)
            out = conv.nn(h + torch.zeros_like(h).index_add_(0, dst, messages))
        else:
            out = GINConv(conv.nn)(h, d.edge_index)
        h = enc.norms[l](out)
        if l == 0:  # ReLU on all but the last layer
            h = F.relu(h)
    assert torch.allclose(enc.node_embeddings(d), h, atol=1e-5)


def test_bond_features_are_gin_only_and_need_edge_attr():
    assert MoleculeEncoder("gin").bond_encoder is not None and MoleculeEncoder("gcn").bond_encoder is None
    assert MoleculeEncoder("gin", bond_columns=[0]).bond_encoder.columns == (0,)
    with pytest.raises(ValueError, match="'bond_features' needs mode='gin'"):
        MoleculeEncoder("gcn", bond_features=True)
    d = _molecule(2)
    with pytest.raises(ValueError, match="needs the bond features 'edge_attr'"):
        MoleculeEncoder("gin", hidden_channels=8, num_layers=1)(Data(x=d.x, edge_index=d.edge_index))


@pytest.mark.parametrize("mode", ["gcn", "gin"])
def test_permutation_invariance_and_batching(mode):
    torch.manual_seed(0)
    enc = MoleculeEncoder(mode, hidden_channels=16, num_layers=3, readout="sum_max", residual=True).eval()
    mols = [_molecule(s) for s in range(4)]
    out = enc(Batch.from_data_list(mols))
    perm = enc(Batch.from_data_list([_permuted(d, 10 + i) for i, d in enumerate(mols)]))
    assert torch.allclose(out, perm, atol=1e-5)
    single = torch.cat([enc(Batch.from_data_list([d])) for d in mols])
    assert torch.allclose(out, single, atol=1e-5)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    enc = MoleculeEncoder("gcn", hidden_channels=8, num_layers=2, dropout=0.5)
    d = _molecule(2)
    assert not torch.allclose(enc.node_embeddings(d), enc.node_embeddings(d))
    enc.eval()
    assert torch.equal(enc.node_embeddings(d), enc.node_embeddings(d))


def test_gradients_reach_atom_embeddings():
    enc = _kcl()
    d = _molecule(3)
    enc(d).sum().backward()
    w = enc.atom_encoder.embeddings[0].weight.grad
    present = torch.zeros(w.shape[0], dtype=torch.bool)
    present[d.x[:, 0]] = True
    assert (w[present].abs().sum(1) > 0).all() and w[~present].abs().sum() == 0


def test_errors():
    with pytest.raises(ValueError, match=r"'mode'.*\(got 'gat'\)"):
        MoleculeEncoder("gat")
    with pytest.raises(ValueError, match=r"'num_layers'.*\(got 0\)"):
        MoleculeEncoder("gin", num_layers=0)
    with pytest.raises(ValueError, match=r"'dropout'.*\(got 1.0\)"):
        MoleculeEncoder("gin", dropout=1.0)
