import torch
from sklearn.linear_model import LogisticRegression

from graphcl.data import csbm, load_graph
from graphcl.eval import cluster_accuracy, kmeans


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, b, c = csbm(seed=3), csbm(seed=3), csbm(seed=4)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_balanced_blocks_and_undirected_simple_graph():
    data = load_graph("synthetic")
    assert torch.bincount(data.y).tolist() == [300, 300, 300, 300]
    assert data.is_undirected() and not data.has_self_loops() and not data.is_coalesced() is False


def test_edge_probabilities_match_the_model():
    n, k, p_in, p_out = 2000, 4, 0.03, 0.003
    data = csbm(num_nodes=n, num_blocks=k, p_in=p_in, p_out=p_out, seed=0)
    src, dst = data.edge_index
    same = data.y[src] == data.y[dst]
    intra_pairs = k * (n // k) * (n // k - 1)  # ordered pairs
    inter_pairs = n * (n - 1) - intra_pairs
    assert abs(same.sum().item() / intra_pairs - p_in) < 0.1 * p_in
    # duplicates are merged, so the realised inter rate is a hair under p_out
    assert abs((~same).sum().item() / inter_pairs - p_out) < 0.1 * p_out


def test_planted_structure_is_recoverable():
    data = load_graph("synthetic")
    # features alone separate the blocks well above chance (0.25)
    clf = LogisticRegression(max_iter=500).fit(data.x[:600], data.y[:600])
    assert clf.score(data.x[600:], data.y[600:]) > 0.45
    # one step of neighbourhood averaging (the graph's homophily) makes k-means recover the blocks
    deg = torch.bincount(data.edge_index[0], minlength=data.num_nodes).clamp(min=1).unsqueeze(1)
    smoothed = torch.zeros_like(data.x).index_add_(0, data.edge_index[0], data.x[data.edge_index[1]]) / deg
    raw = cluster_accuracy(data.y, kmeans(data.x, 4))
    assert cluster_accuracy(data.y, kmeans(smoothed, 4)) > max(0.8, raw + 0.2)
