import networkx as nx
import pytest
import torch
from torch_geometric.utils import from_networkx

from graphcl.augment import (communal_attribute_weights, communal_edge_weights, community_info, community_strength,
                             detect_communities)

TWO_TRIANGLES = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3, 2, 3],
                              [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5, 3, 2]])


def test_strength_hand_checked():
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    s, node_s = community_strength(TWO_TRIANGLES, labels)
    # m = 7 edges; each triangle: E_in = 3, deg = 7 -> 3/7 - (7/14)^2
    assert torch.allclose(s, torch.full((2,), 3 / 7 - 0.25))
    assert torch.equal(node_s, s[labels])


@pytest.mark.parametrize('method', ['leiden', 'louvain'])
def test_detection_finds_planted_triangles(method):
    labels = detect_communities(TWO_TRIANGLES, 6, method=method)
    assert labels[:3].unique().numel() == 1 and labels[3:].unique().numel() == 1 and labels[0] != labels[3]


@pytest.mark.parametrize('graph_name', ['karate', 'planted', 'selfloop'])
@pytest.mark.parametrize('method', ['leiden', 'louvain'])
def test_strength_sums_to_networkx_modularity(graph_name, method):
    if graph_name == 'karate':
        g = nx.karate_club_graph()
    else:
        g = nx.planted_partition_graph(4, 10, 0.6, 0.05, seed=1)
        if graph_name == 'selfloop':
            g.add_edges_from([(0, 0), (5, 5)])
    g = nx.Graph(g)
    ei = from_networkx(g).edge_index
    n = g.number_of_nodes()
    labels = detect_communities(ei, n, method=method)
    s, _ = community_strength(ei, labels, n)
    comms = [set((labels == c).nonzero().view(-1).tolist()) for c in range(int(labels.max()) + 1)]
    assert s.sum().item() == pytest.approx(nx.community.modularity(g, comms, weight=None), abs=1e-6)
    # each S_c is c's own term of the modularity sum
    m = g.number_of_edges()
    for c, nodes in enumerate(comms):
        sub = g.subgraph(nodes).number_of_edges()
        deg = sum(d for _, d in g.degree(nodes))
        assert s[c].item() == pytest.approx(sub / m - (deg / (2 * m)) ** 2, abs=1e-6)


def test_edge_weights_hand_checked():
    labels = torch.tensor([0, 0, 1, 1])
    strength = torch.tensor([0.3, 0.1])
    ei = torch.tensor([[0, 2, 1], [1, 3, 2]])
    # raw: 0.3 (intra c0), 0.1 (intra c1), -(0.3 + 0.1) (inter) -> min-max over [-0.4, 0.3]
    w = communal_edge_weights(ei, labels, strength)
    assert torch.allclose(w, torch.tensor([1.0, 0.5 / 0.7, 0.0]))


def test_attribute_weights_hand_checked():
    node_s = torch.tensor([0.4, 0.4, 0.1])
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0],
                      [1.0, 0.0, -2.0, 0.0],
                      [0.0, 1.0, 0.0, 0.0]])
    # votes: 0.8, 0.1, 0.8 (|x|), 0 -> set to max 0.8
    w = communal_attribute_weights(x, node_s)
    assert torch.allclose(w, torch.tensor([0.0, 1.0, 0.0, 0.0]))
    # a negative vote gets the smallest positive vote (highest drop weight)
    # votes with S = (0.4, 0.2, -0.5) on x' : 0.6, -0.5 -> min positive 0.2, 0.2, 0 -> max 0.6
    x2 = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    w = communal_attribute_weights(x2, torch.tensor([0.4, 0.2, -0.5]))
    assert torch.allclose(w, torch.tensor([0.0, 1.0, 1.0, 0.0]))


def test_info_is_cached_per_edge_index():
    ei = TWO_TRIANGLES.clone()
    a = community_info(ei, 6)
    assert community_info(ei, 6) is a
    assert community_info(ei.clone(), 6) is not a
    assert a.num_communities == 2 and a.modularity == pytest.approx(2 * (3 / 7 - 0.25))


def test_errors():
    with pytest.raises(ValueError, match="'method'.*'leiden'"):
        detect_communities(TWO_TRIANGLES, 6, method='girvan')
    with pytest.raises(ValueError, match='at least one edge'):
        community_strength(torch.zeros(2, 0, dtype=torch.long), torch.zeros(3, dtype=torch.long))
