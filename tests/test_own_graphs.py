"""Users' own graphs: ``graphcl train METHOD --dataset FILE`` for a torch.save'd PyG Data, an edge list with
optional features and labels, or a DGL graph file; each problem found before training, in one line."""
import json
import re

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from graphcl.cli import main
from graphcl.data import csbm, is_graph_file, load_graph_file

FAST = ["--epochs", "2", "--quiet"]


@pytest.fixture
def graph():
    return csbm(num_nodes=60, num_blocks=2, num_features=6, p_in=0.2, p_out=0.01, seed=0)


@pytest.fixture
def fast_config(tmp_path):
    cfg = tmp_path / "fast.yaml"
    cfg.write_text("eval_splits: 1\neval_epochs: 10\nnum_hidden: 8\nnum_proj_hidden: 8\n")
    return ["--config", str(cfg)]


def _write_edge_list(path, edge_index, header="source,target", sep=","):
    lines = ([header] if header else []) + [f"{a}{sep}{b}" for a, b in edge_index.t().tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_table(path, array, header=None):
    rows = [",".join(str(v) for v in np.atleast_1d(row)) for row in array]
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def _error(capsys):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_is_graph_file():
    assert is_graph_file("g.csv") and is_graph_file("g.PT") and is_graph_file("./mine") and is_graph_file("x.bin")
    assert not is_graph_file("Cora") and not is_graph_file("cora-adgc")


def test_edge_list_with_features_and_labels_equals_the_graph(tmp_path, graph):
    edges = _write_edge_list(tmp_path / "g.csv", graph.edge_index)
    feats = _write_table(tmp_path / "x.csv", graph.x.numpy(), header=",".join(f"f{i}" for i in range(6)))
    np.save(tmp_path / "y.npy", graph.y.numpy())
    data = load_graph_file(edges, feats, tmp_path / "y.npy")
    assert torch.allclose(data.x, graph.x) and torch.equal(data.y, graph.y)
    assert torch.equal(data.edge_index, graph.edge_index) and data.num_nodes == 60


def test_edge_list_is_made_undirected_and_needs_no_header_or_features(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("0\t1\n1\t2\n2\t2\n# a comment\n\n1\t0\n")
    data = load_graph_file(path)
    assert data.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert data.x.shape == (3, 64) and data.x.argmax(dim=1).tolist() == [1, 2, 1]  # one-hot degree


@pytest.mark.parametrize("edges, features, labels, pattern", [
    ("a,b\n0,1\n1,x\n", None, None, r"g.csv, line 3: node ids must be integers \(got '1', 'x'\)"),
    ("0,1\n1.5,2\n", None, None, r"g.csv, line 2: node ids must be integers"),
    ("0,1\n1,2,7\n", None, None, r"g.csv, line 2: expected two columns .* got 3"),
    ("0,1\n-1,2\n", None, None, r"g.csv, line 2: node ids must be >= 0"),
    ("0,1\n1,5\n", [[0.0], [1.0], [2.0]], None, r"g.csv: edge 1 names node 5 but the features file has 3 rows"),
    ("0,1\n1,2\n", [[0.0], [float("nan")], [2.0]], None, r"x.csv: NaN or infinite values in 1 rows \(first: row 1\)"),
    ("0,1\n1,2\n", [[0.0], [float("inf")], [2.0]], None, r"NaN or infinite values in 1 rows"),
    ("0,1\n1,2\n", [[0.0], [1.0], [2.0]], [0, 1], r"features file .* has 3 rows but labels file .* has 2 labels"),
    ("0,1\n1,2\n", None, [0, 1.5, 1], r"y.csv: labels must be integers \(row 1 is 1.5\)"),
    ("0,1\n1,2\n", None, [0, -1, 1], r"labels must be >= 0"),
    ("0,0\n", None, None, r"the graph has no edges"),
])
def test_edge_list_problems_are_named(tmp_path, edges, features, labels, pattern):
    path = tmp_path / "g.csv"
    path.write_text(edges)
    x = _write_table(tmp_path / "x.csv", np.asarray(features)) if features is not None else None
    y = _write_table(tmp_path / "y.csv", np.asarray(labels)) if labels is not None else None
    with pytest.raises(ValueError, match=pattern) as err:
        load_graph_file(path, x, y)
    assert "\n" not in str(err.value)


def test_pyg_file_problems_are_named(tmp_path):
    x = torch.randn(3, 2)
    cases = [
        (Data(x=x, edge_index=torch.tensor([[0.0, 1.0], [1.0, 2.0]])), r"edge_index must hold integer node ids"),
        (Data(x=x, edge_index=torch.tensor([[0, 1], [1, 3]])), r"outside \[0, 2\]"),
        (Data(x=torch.tensor([[0.0], [float("nan")], [1.0]]), edge_index=torch.tensor([[0, 1], [1, 2]])),
         r"NaN or infinite values in 1 rows"),
        (Data(x=x, edge_index=torch.tensor([[0, 1], [1, 2]]), y=torch.tensor([0, 1])), r"one class label per node"),
        (Data(x=x, edge_index=torch.tensor([0, 1, 2])), r"edge_index must be a \[2, num_edges\] tensor"),
        ({"x": x}, r"holds a dict; expected a torch_geometric Data"),
    ]
    for i, (obj, pattern) in enumerate(cases):
        torch.save(obj, tmp_path / f"g{i}.pt")
        with pytest.raises(ValueError, match=pattern):
            load_graph_file(tmp_path / f"g{i}.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "g0.pt").read_bytes()[:100])
    with pytest.raises(ValueError, match=r"cut.pt is not a readable torch.save file"):
        load_graph_file(tmp_path / "cut.pt")
    with pytest.raises(FileNotFoundError, match=r"nothere.pt does not exist"):
        load_graph_file(tmp_path / "nothere.pt")


def test_train_on_a_pt_file_and_resume_it(tmp_path, graph, fast_config, capsys):
    torch.save(graph, tmp_path / "mine.pt")
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", str(tmp_path / "mine.pt"), "--out", str(out), *fast_config,
                 *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == str((tmp_path / "mine.pt").resolve()) and metrics["epochs"] == 2
    assert np.load(out / "embeddings.npy").shape == (60, 8)
    assert 0 <= metrics["linear_probe"]["accuracy_mean"] <= 1
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 3
    torch.save(csbm(num_nodes=61, num_blocks=2, num_features=6, seed=1), tmp_path / "mine.pt")  # file replaced
    assert main(["train", "--resume", str(out), "--epochs", "4", "--quiet"]) == 2
    assert re.search(r"Cannot resume: .*mine.pt changed since", _error(capsys))


def test_train_on_an_edge_list_with_features_and_labels(tmp_path, graph, fast_config, capsys):
    edges = _write_edge_list(tmp_path / "edges.csv", graph.edge_index)
    np.save(tmp_path / "x.npy", graph.x.numpy())
    _write_table(tmp_path / "y.txt", graph.y.numpy())
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", str(edges), "--features", str(tmp_path / "x.npy"), "--labels",
                 str(tmp_path / "y.txt"), "--out", str(out), *fast_config, *FAST]) == 0
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["features"] == str((tmp_path / "x.npy").resolve())
    assert set(config["data_sha256"]) == {str(p.resolve()) for p in (edges, tmp_path / "x.npy", tmp_path / "y.txt")}
    assert "linear_probe" in json.loads((out / "metrics.json").read_text())
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0  # finds its features and labels


def test_unlabelled_edge_list_trains_without_a_probe(tmp_path, graph, fast_config):
    edges = _write_edge_list(tmp_path / "edges.csv", graph.edge_index, header=None)
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", str(edges), "--out", str(out), *fast_config, *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "linear_probe" not in metrics and np.load(out / "embeddings.npy").shape == (60, 8)


def test_bad_graph_file_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "g.csv").write_text("0,1\n1,oops\n")
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", str(tmp_path / "g.csv"), "--out", str(out), *FAST]) == 2
    assert re.search(r"g.csv, line 2: node ids must be integers", _error(capsys))
    assert main(["train", "grace", "--dataset", str(tmp_path / "none.csv"), "--out", str(out), *FAST]) == 2
    assert "none.csv does not exist" in _error(capsys)
    assert main(["train", "grace", "--dataset", "synthetic", "--features", str(tmp_path / "g.csv"), "--out",
                 str(out), *FAST]) == 2
    assert "--features and --labels go with a graph file" in _error(capsys)
    assert not out.exists()


def test_train_on_a_dgl_file(tmp_path, graph, fast_config):
    try:
        from graphcl.compat.dgl import import_dgl

        dgl = import_dgl()
    except ImportError as err:
        pytest.skip(f"DGL unavailable: {err}")
    g = dgl.graph((graph.edge_index[0], graph.edge_index[1]), num_nodes=60)
    g.ndata["x"], g.ndata["y"] = graph.x, graph.y
    dgl.save_graphs(str(tmp_path / "g.bin"), [g])
    data = load_graph_file(tmp_path / "g.bin")
    assert torch.equal(data.x, graph.x) and torch.equal(data.y, graph.y)
    assert torch.equal(data.edge_index, graph.edge_index)
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", str(tmp_path / "g.bin"), "--out", str(out), *fast_config,
                 *FAST]) == 0
    assert np.load(out / "embeddings.npy").shape == (60, 8)
    dgl.save_graphs(str(tmp_path / "two.bin"), [g, g])
    with pytest.raises(ValueError, match="holds 2 graphs; expected one"):
        load_graph_file(tmp_path / "two.bin")
