import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data
from torch_geometric.utils.smiles import e_map, x_map

from graphcl.nn.kmpnn_encoder import KMPNNEncoder

ATOM_SIZES = [len(v) for v in x_map.values()]
BOND_SIZES = [len(v) for v in e_map.values()]
NUM_ENTITIES, NUM_RELATIONS = 12, 4


def _augmented(seed, n=6, b=6, m=3, k=8):
    """A random molecule (n atoms, b bonds) with m attribute nodes and k KG edges, in the shared format."""
    g = torch.Generator().manual_seed(seed)
    x = torch.stack([torch.randint(0, s, (n,), generator=g) for s in ATOM_SIZES], 1)
    src = torch.randint(0, n, (b,), generator=g)
    dst = (src + 1 + torch.randint(0, n - 1, (b,), generator=g)) % n
    ea = torch.stack([torch.randint(0, 4, (b,), generator=g), torch.randint(0, 2, (b,), generator=g),
                      torch.randint(0, 2, (b,), generator=g)], 1)
    entity = torch.randperm(NUM_ENTITIES, generator=g)[:m]
    ks, kd = torch.randint(0, max(m, 1), (k,), generator=g), torch.randint(0, n, (k,), generator=g)
    return Data(
        x=torch.cat([x, torch.zeros(m, 9, dtype=torch.long)]),
        node_type=torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(m, dtype=torch.long)]),
        kg_entity=torch.cat([torch.zeros(n, dtype=torch.long), entity]),
        edge_index=torch.cat([torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]),
                              torch.stack([ks + n, kd])], 1),
        edge_type=torch.cat([torch.zeros(2 * b, dtype=torch.long), torch.ones(k, dtype=torch.long)]),
        edge_attr=torch.cat([ea, ea, torch.zeros(k, 3, dtype=torch.long)]),
        kg_relation=torch.cat([torch.zeros(2 * b, dtype=torch.long), entity[ks] % NUM_RELATIONS]))


def _hand_made():
    """C-C-O with attribute nodes Period2 (entity 5 -> C, C, O, relation 3), Family14 (entity 7 -> C, C,
    relation 0) and Family16 (entity 9 -> O, relation 0)."""
    x = torch.zeros(6, 9, dtype=torch.long)
    x[:3, 0] = torch.tensor([6, 6, 8])
    bonds = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    kg = torch.tensor([[3, 3, 3, 4, 4, 5], [0, 1, 2, 0, 1, 2]])
    return Data(x=x, node_type=torch.tensor([0, 0, 0, 1, 1, 1]), kg_entity=torch.tensor([0, 0, 0, 5, 7, 9]),
                edge_index=torch.cat([bonds, kg], 1), edge_type=torch.tensor([0] * 4 + [1] * 6),
                edge_attr=torch.cat([torch.tensor([[1, 0, 0]] * 4), torch.zeros(6, 3, dtype=torch.long)]),
                kg_relation=torch.tensor([0] * 4 + [3, 3, 3, 0, 0, 0]))


def _encoder(**kw):
    torch.manual_seed(0)
    kw = {"hidden_channels": 8, "edge_channels": 4, "edge_hidden_channels": 6, "num_steps": 3,
          "embedding_channels": 10, **kw}
    return KMPNNEncoder(NUM_ENTITIES, NUM_RELATIONS, **kw)


def _permuted(d, seed):
    """Same molecule, nodes and edges in another order."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(d.num_nodes, generator=g)      # new node i = old node perm[i]
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    eperm = torch.randperm(d.num_edges, generator=g)
    out = Data(edge_index=inv[d.edge_index[:, eperm]])
    for key in ("x", "node_type", "kg_entity"):
        out[key] = d[key][perm]
    for key in ("edge_type", "edge_attr", "kg_relation"):
        out[key] = d[key][eperm]
    return out


def test_reference_defaults_and_shapes():
    enc = KMPNNEncoder(NUM_ENTITIES, NUM_RELATIONS)
    assert (enc.embedding_channels, enc.hidden_channels, enc.edge_channels, enc.num_steps) == (128, 64, 64, 6)
    assert enc.conv.edge_nns[0][0].out_features == 128 and enc.conv.edge_nns[0][2].out_features == 64 * 64
    assert enc.conv.num_edge_types == 2 and enc.conv.attention and enc.conv.negative_slope == 0.01
    assert enc.out_channels == 128  # Set2Set: 2 x hidden
    batch = Batch.from_data_list([_augmented(s) for s in range(3)])
    assert enc(batch).shape == (3, 128)
    assert enc.node_embeddings(batch).shape == (batch.num_nodes, 64)


def _naive_step(conv, h, d, table, index):
    """Per-edge loop of one KMPNN layer: separate softmax over bond and KG in-edges."""
    a = conv.att.weight.view(-1)
    out = torch.zeros_like(h)
    for i in range(h.shape[0]):
        for t in (0, 1):
            edges = [e for e in range(d.num_edges) if d.edge_index[1, e] == i and d.edge_type[e] == t]
            if not edges:
                continue
            src = [int(d.edge_index[0, e]) for e in edges]
            alpha = torch.softmax(torch.stack([F.leaky_relu(a @ torch.cat([h[j], h[i]]), 0.01) for j in src]), 0)
            for w, e, j in zip(alpha, edges, src):
                W = conv.edge_nns[t](table[index[e]:index[e] + 1]).view(h.shape[1], h.shape[1])
                out[i] += w * (h[j] @ W)
    return out + conv.bias


def test_hand_made_graph_equals_naive_reference():
    enc = _encoder()
    d = _hand_made()
    with torch.no_grad():
        enc.conv.bias.normal_()
    atoms = enc.atom_encoder(d.x)
    entities = enc.entity_emb(d.kg_entity)
    z = torch.where((d.node_type == 1).unsqueeze(1), entities, atoms)
    # the edge table: bond type 1 (one category), relations 0 and 3
    et, table, index = enc._edge_inputs(d)
    assert table.shape[0] == 3 and index.tolist() == [0] * 4 + [2, 2, 2, 1, 1, 1]
    assert torch.allclose(table[0], enc.bond_encoder.embeddings[0].weight[1])
    assert torch.allclose(table[1:], enc.relation_emb.weight[[0, 3]])
    h = enc.project(z)
    hidden = h
    for _ in range(enc.num_steps):
        m = F.relu(_naive_step(enc.conv, h, d, table, index))
        h = enc.gru(m.unsqueeze(0), hidden.unsqueeze(0))[0].squeeze(0)
        hidden = h
    assert torch.allclose(enc.node_embeddings(d), h, atol=1e-5)


def test_permutation_invariance():
    enc = _encoder()
    mols = [_augmented(s) for s in range(4)]
    out = enc(Batch.from_data_list(mols))
    out_perm = enc(Batch.from_data_list([_permuted(d, 10 + i) for i, d in enumerate(mols)]))
    assert torch.allclose(out, out_perm, atol=1e-5)


def test_batched_equals_one_by_one():
    enc = _encoder(readout="sum_max")
    mols = [_augmented(s) for s in range(4)]
    batched = enc(Batch.from_data_list(mols))
    single = torch.cat([enc(Batch.from_data_list([d])) for d in mols])
    assert torch.allclose(batched, single, atol=1e-5)
    assert torch.allclose(enc(mols[0]), single[:1], atol=1e-5)  # a lone Data works too


def test_plain_molecule_is_all_atoms_and_bonds():
    enc = _encoder()
    d = _augmented(0, m=0, k=0)
    plain = Data(x=d.x, edge_index=d.edge_index, edge_attr=d.edge_attr)
    out = enc(Batch.from_data_list([plain, plain]))
    assert out.shape == (2, enc.out_channels)
    assert torch.allclose(out, enc(Batch.from_data_list([d, d])), atol=1e-6)
    # attribute nodes change the embedding of the same molecule
    assert not torch.allclose(enc(_augmented(0)), enc(d).detach(), atol=1e-3)


def test_gradients_reach_entity_relation_and_bond_embeddings():
    enc = _encoder()
    batch = Batch.from_data_list([_hand_made()])
    enc(batch).pow(2).sum().backward()
    g = enc.entity_emb.weight.grad
    used = torch.zeros(NUM_ENTITIES, dtype=torch.bool)
    used[[5, 7, 9]] = True
    assert (g[used].abs().sum(1) > 0).all() and g[~used].abs().sum() == 0
    rg = enc.relation_emb.weight.grad
    assert rg[[0, 3]].abs().sum(1).gt(0).all() and rg[[1, 2]].abs().sum() == 0
    assert enc.bond_encoder.embeddings[0].weight.grad[1].abs().sum() > 0
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_kg_initialisation_projection_and_reset():
    entity_init, relation_init = torch.randn(NUM_ENTITIES, 10), torch.randn(NUM_RELATIONS, 7)
    enc = _encoder(entity_init=entity_init, relation_init=relation_init)
    assert torch.equal(enc.entity_emb.weight.data, entity_init)   # same width: no projection
    assert enc.entity_proj is None
    assert enc.relation_proj is not None and enc.relation_proj.in_features == 7   # 7 -> edge_channels 4
    with torch.no_grad():
        enc.entity_emb.weight.zero_()
    enc.reset_parameters()
    assert torch.equal(enc.entity_emb.weight.data, entity_init)
    assert "entity_emb.weight" in enc.state_dict() and "_entity_init" not in enc.state_dict()
    assert enc(_hand_made()).shape == (1, 16)


def test_errors():
    with pytest.raises(ValueError, match=r"'entity_init' of shape \(num_entities=12, D\) \(got \(5, 10\)\)"):
        KMPNNEncoder(NUM_ENTITIES, NUM_RELATIONS, entity_init=torch.randn(5, 10))
    with pytest.raises(ValueError, match=r"'num_steps'.*\(got 0\)"):
        KMPNNEncoder(NUM_ENTITIES, NUM_RELATIONS, num_steps=0)
    with pytest.raises(ValueError, match="'name'"):
        KMPNNEncoder(NUM_ENTITIES, NUM_RELATIONS, readout="sort")
