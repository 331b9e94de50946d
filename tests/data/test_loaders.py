import pytest
import torch

from graphcl.data import (DatasetNotFoundError, dataset_available, dataset_info, dataset_names, load_graph,
                          validate_graph)
from torch_geometric.data import Data
from torch_geometric.utils import coalesce

# (nodes, directed edges, features, classes) from the sources' documentation
EXPECTED = {
    "Cora": (2708, 10556, 1433, 7), "CiteSeer": (3327, 9104, 3703, 6), "PubMed": (19717, 88648, 500, 3),
    "Photo": (7650, 238162, 745, 8), "Computers": (13752, 491722, 767, 10), "CS": (18333, 163788, 6805, 15),
    "acm": (3025, 26256, 1870, 3), "dblp": (4057, 7056, 334, 4), "cora-adgc": (2708, 10556, 1433, 7),
    "citeseer-adgc": (3327, 9104, 3703, 6), "bat": (131, 2006, 81, 4), "eat": (399, 11986, 203, 4),
    "uat": (1190, 27198, 239, 4),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_class_counts(name):
    if not dataset_available(name):
        pytest.skip(f"{name} raw files not under the data root")
    data = load_graph(name)
    nodes, edges, features, classes = EXPECTED[name]
    assert (data.num_nodes, data.num_edges, data.num_features) == (nodes, edges, features)
    assert int(data.y.max()) + 1 == classes and data.y.min() == 0
    assert data.is_undirected()


@pytest.mark.parametrize("planetoid,adgc", [("Cora", "cora-adgc"), ("CiteSeer", "citeseer-adgc")])
def test_adgc_copies_equal_planetoid(planetoid, adgc):
    """The deep-graph-clustering files (HSAN/SCGC zips) hold PyG's Planetoid graphs node for node, so the clustering
    papers' figures are on our graphs; the benchmark leaves the copies out of its defaults for that reason."""
    if not (dataset_available(planetoid) and dataset_available(adgc)):
        pytest.skip(f"{planetoid} or {adgc} not under the data root")
    a, b = load_graph(planetoid), load_graph(adgc)
    assert torch.equal(a.x, b.x.to(a.x.dtype)) and torch.equal(a.y, b.y)
    assert torch.equal(coalesce(a.edge_index, num_nodes=a.num_nodes), coalesce(b.edge_index, num_nodes=b.num_nodes))


def test_every_registry_entry_documents_files_and_source():
    for name in dataset_names():
        info = dataset_info(name)
        assert info.source and info.loader
        if info.loader != "synthetic":
            assert info.folder and info.raw_files, name


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'Coraa'.*Valid datasets: .*Cora"):
        load_graph("Coraa")


def test_lookup_is_case_insensitive():
    assert dataset_info("photo").name == "Photo"


def test_missing_files_name_path_and_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"expected raw/ind.cora.x.*" + str(tmp_path)):
        load_graph("Cora", root=tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError, match=r"acm.txt, acm_label.txt, acm_graph.txt"):
        load_graph("acm", root=tmp_path)


def test_data_root_is_not_written(tmp_path):
    """Processed files go to the cache, never beside the raw files."""
    if not dataset_available("Cora"):
        pytest.skip("Cora not present")
    from graphcl.data import data_root

    before = {p for p in (data_root() / "Cora").rglob("*")}
    load_graph("Cora")
    assert {p for p in (data_root() / "Cora").rglob("*")} == before


def test_validate_graph_names_the_problem():
    x = torch.randn(3, 2)
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="no edges"):
        validate_graph(Data(x=x, edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=3))
    bad = x.clone()
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite values in 1 rows"):
        validate_graph(Data(x=bad, edge_index=ei))
    with pytest.raises(ValueError, match=r"outside \[0, 2\]"):
        validate_graph(Data(x=x, edge_index=torch.tensor([[0, 5], [1, 2]])))
    with pytest.raises(ValueError, match="no nodes"):
        validate_graph(Data(x=torch.empty(0, 2), edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0))
