import pytest
import torch
from augment_testing import is_undirected

from graphcl.augment import EdgeAdding


@pytest.mark.parametrize('undirected', [True, False])
def test_counts_attributes_and_range(graph, undirected):
    n, e = graph.num_nodes, graph.num_edges
    out = EdgeAdding(0.4, undirected=undirected, generator=torch.Generator().manual_seed(0))(graph)
    added = round(0.4 * e / 2) * 2 if undirected else round(0.4 * e)
    assert out.num_edges == e + added
    # original edges and attributes come first, untouched
    assert torch.equal(out.edge_index[:, :e], graph.edge_index)
    assert torch.equal(out.edge_attr[:e], graph.edge_attr) and torch.equal(out.edge_weight[:e], graph.edge_weight)
    # added edges: weight 1, other attributes 0, endpoints valid
    assert torch.all(out.edge_weight[e:] == 1) and torch.all(out.edge_attr[e:] == 0)
    new = out.edge_index[:, e:]
    assert int(new.min()) >= 0 and int(new.max()) < n
    if undirected:
        assert is_undirected(new, n)


def test_endpoints_uniform(graph):
    n = graph.num_nodes
    aug = EdgeAdding(1.0, undirected=False, generator=torch.Generator().manual_seed(1))
    counts = torch.zeros(n)
    for _ in range(100):
        out = aug(graph)
        counts += torch.bincount(out.edge_index[0, graph.num_edges:], minlength=n)
    expected = counts.sum() / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 70  # chi-square, 29 degrees of freedom: p < 1e-4 above 70


def test_zero_is_identity_and_errors(graph):
    out = EdgeAdding(0.0)(graph)
    assert torch.equal(out.edge_index, graph.edge_index)
    with pytest.raises(ValueError, match="'p'"):
        EdgeAdding(-0.1)
