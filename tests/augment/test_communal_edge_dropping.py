import networkx as nx
import pytest
import torch
from augment_testing import assert_edge_attrs_aligned, is_undirected
from torch_geometric.data import Data
from torch_geometric.utils import from_networkx

from graphcl.augment import CommunalEdgeDropping, CommunityInfo, communal_keep_prob, community_info


def _planted(seed=0):
    # 3 communities of 15: the first two dense (strong), the last sparse (weak), few edges between them
    sizes = [15, 15, 15]
    probs = [[0.7, 0.02, 0.02], [0.02, 0.7, 0.02], [0.02, 0.02, 0.25]]
    g = nx.stochastic_block_model(sizes, probs, seed=seed)
    data = from_networkx(g)
    n = data.num_nodes
    code = (data.edge_index[0] * n + data.edge_index[1]).float()
    data.edge_attr, data.edge_weight = torch.stack([code, -code], 1), code + 0.5
    data.block = torch.arange(3).repeat_interleave(15)
    return data


def test_keep_prob_hand_checked():
    w = torch.tensor([1.0, 0.5, 0.0, 0.5])  # mean 0.5
    assert torch.allclose(communal_keep_prob(w, p=0.4), torch.tensor([1.0, 0.6, 0.0, 0.6]))
    assert torch.allclose(communal_keep_prob(w, p=0.4, threshold=0.7), torch.tensor([1.0, 0.6, 0.3, 0.6]))


def test_intra_strong_kept_more_than_inter():
    data = _planted()
    n = data.num_nodes
    info = community_info(data.edge_index, n)
    aug = CommunalEdgeDropping(0.5, communities=info, generator=torch.Generator().manual_seed(0))
    counts = torch.zeros(data.num_edges)
    code = data.edge_index[0] * n + data.edge_index[1]
    trials = 300
    for _ in range(trials):
        out = aug(data)
        assert_edge_attrs_aligned(out, n)
        assert is_undirected(out.edge_index, n)
        counts += torch.isin(code, out.edge_index[0] * n + out.edge_index[1]).float()
    rate = counts / trials
    same = info.labels[data.edge_index[0]] == info.labels[data.edge_index[1]]
    strong = same & (info.node_strength[data.edge_index[0]] >= info.strength.median())
    assert rate[strong].mean() > rate[~same].mean() + 0.3
    # empirical keep rates follow the computed probabilities (binomial, 300 draws: sd <= 0.03)
    assert torch.allclose(rate, aug.keep_prob(data), atol=0.12)
    assert abs(rate.mean() - aug.keep_prob(data).mean()) < 0.02


def test_known_communities_and_threshold():
    ei = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3, 2, 3], [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5, 3, 2]])
    data = Data(edge_index=ei, num_nodes=6)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    info = CommunityInfo(labels, torch.tensor([0.2, 0.1]), torch.tensor([0.2, 0.2, 0.2, 0.1, 0.1, 0.1]))
    # raw weights: 0.2 (c0), 0.1 (c1), -0.3 (bridge) -> minmax: 1, 0.8, 0 -> mean (6*1 + 6*0.8)/14
    aug = CommunalEdgeDropping(0.5, threshold=0.9, communities=info)
    w = torch.tensor([1.0] * 6 + [0.8] * 6 + [0.0] * 2)
    expected = (w / w.mean() * 0.5).clamp(0.1, 1.0)
    assert torch.allclose(aug.keep_prob(data), expected)


def test_cached_per_graph():
    data = _planted()
    aug = CommunalEdgeDropping(0.3)
    first = aug.keep_prob(data)
    assert aug.keep_prob(data) is first


def test_errors():
    with pytest.raises(ValueError, match="'method'"):
        CommunalEdgeDropping(0.3, method='spectral')
    with pytest.raises(ValueError, match="'threshold'"):
        CommunalEdgeDropping(0.3, threshold=1.5)
