"""PyG <-> DGL conversions: attribute-exact round trips, and DGL modules on converted graphs match the PyG path."""
import json

import pytest
import torch
from torch_geometric.data import Batch, Data, HeteroData
from torch_geometric.utils import from_smiles

from graphcl.compat.dgl import import_dgl
from graphcl.compat.dgl_convert import (GRAPH_DATA, as_pyg, batch_dgl, from_dgl, is_dgl_graph, to_dgl,
                                        unbatch_dgl)

dgl = import_dgl()


def assert_same_data(a, b):
    """Same keys, and each value equal (tensors: same dtype, shape and values, NaN == NaN)."""
    assert sorted(a.keys()) == sorted(b.keys())
    for key in a.keys():
        va, vb = a[key], b[key]
        if isinstance(va, torch.Tensor):
            assert isinstance(vb, torch.Tensor), key
            torch.testing.assert_close(va.as_subclass(torch.Tensor), vb.as_subclass(torch.Tensor), rtol=0, atol=0,
                                       equal_nan=True, msg=key)
        else:
            assert va == vb, key


def kg_molecule():
    """A KG-augmented molecule by hand: ethanol's heavy atoms C-C-O (3 atoms) + 2 attribute nodes (Period2 linking
    all three atoms, a 'Family16' node linking O); bonds first (both directions), then KG edges attribute -> atom."""
    x = torch.zeros(5, 9, dtype=torch.long)
    x[:3, 0] = torch.tensor([6, 6, 8])
    x[:3, 4] = torch.tensor([3, 2, 1])  # num_hs
    bonds = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    kg = torch.tensor([[3, 3, 3, 4], [0, 1, 2, 2]])
    edge_attr = torch.zeros(8, 3, dtype=torch.long)
    edge_attr[:4, 0] = 1  # single bonds
    return Data(x=x, edge_index=torch.cat([bonds, kg], 1),
                node_type=torch.tensor([0, 0, 0, 1, 1]), kg_entity=torch.tensor([0, 0, 0, 130, 140]),
                edge_type=torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), edge_attr=edge_attr,
                kg_relation=torch.tensor([0, 0, 0, 0, 2, 2, 2, 0]),
                y=torch.tensor([[1.0, float("nan"), 0.0]]), smiles="CCO", row=7)


def test_kg_molecule_round_trip_and_placement():
    data = kg_molecule()
    g = to_dgl(data)
    assert (g.num_nodes(), g.num_edges()) == (5, 8)
    assert sorted(g.ndata) == ["kg_entity", "node_type", "x"]
    assert sorted(g.edata) == ["edge_attr", "edge_type", "kg_relation"]
    assert sorted(g.graph_data) == ["row", "smiles", "y"]
    src, dst = g.edges()  # edge id e = column e of edge_index: bonds first, then KG edges
    assert torch.equal(torch.stack([src, dst]), data.edge_index)
    assert torch.equal(g.edata["kg_relation"], data.kg_relation)
    assert g.ndata["x"].dtype == torch.long
    assert_same_data(from_dgl(g), data)


def test_ambiguous_counts_follow_the_names():
    # N == E == 4: PyG's own heuristic calls 'kg_relation' node-level; here it is an edge attribute by name
    data = Data(x=torch.arange(4).view(4, 1), edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]),
                kg_relation=torch.tensor([5, 6, 7, 8]), edge_weight=torch.rand(4), kg_entity=torch.tensor([0, 1, 2, 3]),
                score=torch.rand(4))
    g = to_dgl(data)
    assert sorted(g.edata) == ["edge_weight", "kg_relation"]
    assert sorted(g.ndata) == ["kg_entity", "score", "x"]  # unknown names with N rows: node-level (as PyG)
    assert_same_data(from_dgl(g), data)


def test_one_atom_molecule_keeps_y_graph_level():
    data = from_smiles("C")
    data.y = torch.tensor([[0.5, float("nan")]])
    assert data.num_nodes == 1
    g = to_dgl(data)
    assert "y" not in g.ndata and torch.equal(g.graph_data["y"][:, :1], data.y[:, :1])
    assert_same_data(from_dgl(g), data)


def test_graph_keys_force_graph_level():
    data = Data(x=torch.ones(1, 2), edge_index=torch.empty(2, 0, dtype=torch.long), y=torch.tensor([3]))
    assert "y" in to_dgl(data).ndata  # one row on a one-node graph: node-level by default
    g = to_dgl(data, graph_keys=("y",))
    assert "y" not in g.ndata and torch.equal(g.graph_data["y"], torch.tensor([3]))
    assert_same_data(from_dgl(g), data)


def test_node_classification_graph_with_masks_and_isolated_nodes():
    gen = torch.Generator().manual_seed(0)
    data = Data(x=torch.randn(6, 3, generator=gen), edge_index=torch.tensor([[0, 1, 2], [1, 2, 0]]),
                y=torch.tensor([0, 1, 0, 1, 1, 0]), train_mask=torch.tensor([1, 1, 0, 0, 0, 0]).bool(),
                edge_weight=torch.rand(3, generator=gen))
    g = to_dgl(data)
    assert g.num_nodes() == 6 and g.in_degrees().tolist() == [1, 1, 1, 0, 0, 0]
    assert sorted(g.ndata) == ["train_mask", "x", "y"] and g.ndata["train_mask"].dtype == torch.bool
    assert_same_data(from_dgl(g), data)
    # no node tensors: the node count travels as num_nodes
    bare = Data(edge_index=torch.tensor([[0], [1]]), num_nodes=5)
    back = from_dgl(to_dgl(bare))
    assert to_dgl(bare).num_nodes() == 5 and back.num_nodes == 5
    assert torch.equal(back.edge_index, bare.edge_index)


def test_from_plain_dgl_graph():
    g = dgl.graph((torch.tensor([2, 0, 1]), torch.tensor([0, 1, 2])), num_nodes=4)
    g.ndata["feat"] = torch.arange(8.0).view(4, 2)
    g.edata["w"] = torch.tensor([0.1, 0.2, 0.3])
    data = from_dgl(g)
    assert data.edge_index.tolist() == [[2, 0, 1], [0, 1, 2]]
    assert torch.equal(data.feat, g.ndata["feat"]) and torch.equal(data.w, g.edata["w"])
    assert data.num_nodes == 4


def test_hetero_round_trip():
    data = HeteroData()
    data["atom"].x = torch.tensor([[6], [8], [7]])
    data["attr"].num_nodes = 4  # featureless type
    data["lonely"].z = torch.ones(2, 1)  # a type without edges
    data["attr", "links", "atom"].edge_index = torch.tensor([[0, 1, 3], [2, 2, 0]])
    data["attr", "links", "atom"].kg_relation = torch.tensor([1, 4, 2])
    data["atom", "bond", "atom"].edge_index = torch.tensor([[0, 1], [1, 0]])
    data["atom", "bond", "atom"].edge_attr = torch.tensor([[1, 0, 0], [1, 0, 0]])
    data["atom"].label = torch.tensor([1.0])  # not one row per atom: kept in graph_data under (type, key)
    data.y = torch.tensor([[1.0, 0.0]])
    g = to_dgl(data)
    assert sorted(g.ntypes) == ["atom", "attr", "lonely"]
    assert sorted(g.canonical_etypes) == [("atom", "bond", "atom"), ("attr", "links", "atom")]
    assert g.num_nodes("attr") == 4 and g.num_nodes("lonely") == 2
    src, dst = g.edges(etype=("attr", "links", "atom"))
    assert src.tolist() == [0, 1, 3] and dst.tolist() == [2, 2, 0]
    assert torch.equal(g.edges["links"].data["kg_relation"], torch.tensor([1, 4, 2]))
    back = from_dgl(g)
    assert isinstance(back, HeteroData)
    assert_same_data(back, data)  # global store
    assert set(back.node_types) == set(data.node_types)
    assert set(back.edge_types) == set(data.edge_types)
    for key in data.node_types + data.edge_types:
        assert_same_data(back[key], data[key])


def test_batch_round_trip_keeps_graph_level_attributes():
    mols = []
    for i, smi in enumerate(["CCO", "c1ccccc1", "C"]):
        d = from_smiles(smi)
        d.y, d.row = torch.tensor([[float(i), float("nan")]]), i
        mols.append(d)
    batch = Batch.from_data_list(mols)
    g = to_dgl(batch)
    assert g.batch_size == 3 and g.batch_num_nodes().tolist() == [3, 6, 1]
    assert [gd["smiles"] for gd in g.graph_data] == ["CCO", "c1ccccc1", "C"]
    back = from_dgl(g)
    assert isinstance(back, Batch) and back.num_graphs == 3
    assert_same_data(back, batch)  # x, edge_index (offsets), edge_attr, y [3, 2], smiles, row, batch, ptr
    parts = unbatch_dgl(g)
    assert [int(p.graph_data["row"]) for p in parts] == [0, 1, 2]
    assert_same_data(from_dgl(parts[1]), batch.get_example(1))  # PyG's own unbatching (its int row: tensor([1]))


def test_plain_dgl_batch_gives_a_pyg_batch():
    graphs = [to_dgl(from_smiles(s)) for s in ("CCO", "CN")]
    g = dgl.batch(graphs)  # dgl.batch drops graph_data
    assert getattr(g, GRAPH_DATA, None) is None
    back = from_dgl(g)
    assert isinstance(back, Batch) and back.batch.tolist() == [0, 0, 0, 1, 1]
    assert back.edge_index.tolist() == [[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]]
    assert torch.equal(back.x, torch.cat([graphs[0].ndata["x"], graphs[1].ndata["x"]]))
    assert torch.equal(batch_dgl(graphs).batch_num_edges(), torch.tensor([4, 2]))


def test_as_pyg_and_type_errors():
    data = kg_molecule()
    assert as_pyg(data) is data
    g = to_dgl(data)
    assert is_dgl_graph(g) and not is_dgl_graph(data)
    assert_same_data(as_pyg(g), data)
    with pytest.raises(TypeError, match=r"Data / HeteroData or a dgl.DGLGraph \(got builtins.dict\)"):
        as_pyg({"x": 1})
    with pytest.raises(TypeError, match=r"Expected 'data' to be a torch_geometric Data or HeteroData \(got list\)"):
        to_dgl([data])
    with pytest.raises(TypeError, match=r"Expected 'graph' to be a dgl.DGLGraph \(got Data\)"):
        from_dgl(data)


@pytest.mark.parametrize("weighted", [False, True])
def test_dgl_graphconv_matches_backbone_gcn(weighted):
    from graphcl.nn.backbone_conv import BackboneConv

    gen = torch.Generator().manual_seed(1)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 4], [1, 0, 2, 1, 3, 2, 4, 0]])
    data = Data(x=torch.randn(5, 4, generator=gen), edge_index=edge_index)
    if weighted:
        # symmetric weights: DGL's EdgeWeightNorm normalises sources by weighted out-degree, PyG's gcn_norm (and
        # BackboneConv) by weighted in-degree; they agree when w_ij = w_ji
        data.edge_weight = (torch.rand(4, generator=gen) + 0.5).repeat_interleave(2)
    ours = BackboneConv(4, 3, mode="gcn")
    expected = ours(data.x, data.edge_index, edge_weight=data.edge_weight)

    g = dgl.add_self_loop(to_dgl(data))  # loops appended after the converted edges (edge weight 1)
    conv = dgl.nn.GraphConv(4, 3, norm="both" if not weighted else "none")
    with torch.no_grad():
        conv.weight.copy_(ours.lin.weight.T)
        conv.bias.copy_(ours.bias)
    if weighted:
        w = torch.cat([g.edata["edge_weight"][:8], torch.ones(5)])
        out = conv(g, g.ndata["x"], edge_weight=dgl.nn.EdgeWeightNorm(norm="both")(g, w))
    else:
        out = conv(g, g.ndata["x"])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def _one_hot_edges(edge_attr):
    from torch_geometric.utils.smiles import e_map
    sizes = [len(v) for v in e_map.values()]
    return torch.cat([torch.nn.functional.one_hot(edge_attr[:, i], s) for i, s in enumerate(sizes)], 1).float()


def test_dgl_nnconv_matches_pyg_nnconv_on_a_molecule():
    from torch_geometric.nn import NNConv

    torch.manual_seed(0)
    data = from_smiles("CC(=O)Nc1ccc(O)cc1")  # paracetamol: single, double and aromatic bonds
    g = to_dgl(data)
    in_dim, out_dim = 5, 4
    emb = torch.nn.Embedding(119, in_dim)  # atom type -> float features
    edge_dim = _one_hot_edges(data.edge_attr).shape[1]
    edge_net = torch.nn.Sequential(torch.nn.Linear(edge_dim, 16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, in_dim * out_dim))  # shared by both layers
    pyg = NNConv(in_dim, out_dim, edge_net, aggr="add", root_weight=True, bias=True)
    ref = dgl.nn.NNConv(in_dim, out_dim, edge_net, aggregator_type="sum", residual=True, bias=True)
    with torch.no_grad():
        ref.res_fc.weight.copy_(pyg.lin.weight)
        ref.bias.copy_(pyg.bias)
    assert ref.res_fc.bias is None  # DGL's residual is x W (no bias), as PyG's root weight
    expected = pyg(emb(data.x[:, 0]), data.edge_index, _one_hot_edges(data.edge_attr))
    out = ref(g, emb(g.ndata["x"][:, 0]), _one_hot_edges(g.edata["edge_attr"]))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_dgl_nnconv_matches_backbone_nnconv_on_a_molecule():
    import graphcl.nn.backbone_conv as bc
    if "nnconv" not in getattr(bc, "EDGE_CONDITIONED_MODES", ()) + bc.MODES:
        pytest.skip("BackboneConv has no 'nnconv' mode in this tree")
    torch.manual_seed(0)
    data = from_smiles("CC(=O)Nc1ccc(O)cc1")
    g = to_dgl(data)
    emb = torch.nn.Embedding(119, 5)
    edge_dim = _one_hot_edges(data.edge_attr).shape[1]
    ours = bc.BackboneConv(5, 4, mode="nnconv", edge_dim=edge_dim, edge_hidden_channels=16, root_weight=True)
    with torch.no_grad():
        ours.bias.copy_(torch.randn(4))
    ref = dgl.nn.NNConv(5, 4, ours.edge_nns[0], aggregator_type="sum", residual=True, bias=True)
    with torch.no_grad():
        ref.res_fc.weight.copy_(ours.lin_root.weight)
        ref.bias.copy_(ours.bias)
    expected = ours(emb(data.x[:, 0]), data.edge_index, edge_attr=_one_hot_edges(data.edge_attr))
    out = ref(g, emb(g.ndata["x"][:, 0]), _one_hot_edges(g.edata["edge_attr"]))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_runner_accepts_a_dgl_graph(tmp_path):
    from graphcl.data.synthetic import csbm
    from graphcl.runner import run

    data = csbm(num_nodes=80, num_blocks=2, num_features=8, p_in=0.1, p_out=0.01, seed=0)
    g = to_dgl(data)
    assert sorted(g.ndata) == ["x", "y"]
    metrics = run("grace", "synthetic", data=g, out=tmp_path, progress=False,
                  overrides={"epochs": 2, "eval_splits": 1, "eval_epochs": 5, "checkpoint_every": 2})
    assert metrics["epochs"] == 2 and 0.0 <= metrics["linear_probe"]["accuracy_mean"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["dataset"] == "synthetic"
    import numpy as np
    assert np.load(tmp_path / "embeddings.npy").shape[0] == 80
    with pytest.raises(TypeError, match="Expected a torch_geometric Data / HeteroData or a dgl.DGLGraph"):
        run("grace", "synthetic", data="not a graph", out=tmp_path / "bad", progress=False)


def test_batch_levels_are_decided_once_for_all_graphs():
    # 'bond_length' has one row per edge; in the second graph N == E == 2, where a per-graph rule would call it
    # node-level and dgl.batch would refuse the mixed schemas
    a = Data(x=torch.zeros(3, 1), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
             bond_length=torch.tensor([1.5, 1.5, 1.2, 1.2]))
    b = Data(x=torch.ones(2, 1), edge_index=torch.tensor([[0, 1], [1, 0]]), bond_length=torch.tensor([1.1, 1.1]))
    batch = Batch.from_data_list([a, b])
    g = to_dgl(batch)
    assert sorted(g.edata) == ["bond_length"] and sorted(g.ndata) == ["x"]
    assert_same_data(from_dgl(g), batch)
