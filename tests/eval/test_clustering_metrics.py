import networkx as nx
import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from graphcl.eval import (cluster_accuracy, clustering_metrics, conductance, kmeans, match_clusters, matched_f1,
                          modularity)


def test_accuracy_is_invariant_to_cluster_renaming():
    y = [0, 0, 1, 1, 2, 2]
    assert cluster_accuracy(y, [2, 2, 0, 0, 1, 1]) == 1.0


def test_accuracy_hand_computed():
    # clusters {0,1,2}->class 0 (2 right), {3,4,5}->class 1 (2 right): 4/6
    y = [0, 0, 1, 1, 1, 0]
    pred = [5, 5, 5, 7, 7, 7]
    assert cluster_accuracy(y, pred) == pytest.approx(4 / 6)


def test_fewer_clusters_than_classes():
    y = [0, 0, 1, 1, 2, 2]
    pred = [0, 0, 0, 0, 1, 1]  # two clusters for three classes: one class can never be matched
    assert cluster_accuracy(y, pred) == pytest.approx(4 / 6)
    mapped = match_clusters(y, pred)
    assert set(mapped.tolist()) <= {0, 1, 2}
    # class 1 (or 0) is never predicted: its F1 is 0, the others 2/3 and 1
    assert matched_f1(y, pred) == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_more_clusters_than_classes_count_as_errors():
    y = [0, 0, 1, 1]
    pred = [0, 1, 2, 3]
    assert cluster_accuracy(y, pred) == 0.5
    assert -1 in match_clusters(y, pred).tolist()


def test_nmi_ari_match_sklearn():
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 5, 200)
    m = clustering_metrics(y, pred)
    assert m["nmi"] == pytest.approx(normalized_mutual_info_score(y, pred))
    assert m["ari"] == pytest.approx(adjusted_rand_score(y, pred))


def _two_triangles():
    g = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    ei = torch.tensor(list(g.edges)).T
    return g, torch.cat([ei, ei.flip(0)], dim=1)


def test_modularity_matches_networkx():
    g, ei = _two_triangles()
    pred = [0, 0, 0, 1, 1, 1]
    expected = nx.community.modularity(g, [{0, 1, 2}, {3, 4, 5}])
    assert modularity(ei, pred) == pytest.approx(expected)
    assert modularity(ei, [0, 1, 0, 1, 0, 1]) == pytest.approx(
        nx.community.modularity(g, [{0, 2, 4}, {1, 3, 5}]))


def test_conductance_hand_computed():
    _, ei = _two_triangles()
    # 7 undirected edges -> volume 14; the bridge (2,3) leaves in both directions: 2 endpoints
    assert conductance(ei, [0, 0, 0, 1, 1, 1]) == pytest.approx(2 / 14)
    assert conductance(ei, [0, 0, 0, 0, 0, 0]) == 0.0


def test_kmeans_recovers_separated_blobs():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    y = np.repeat([0, 1], 30)
    assert cluster_accuracy(y, kmeans(x, 2)) == 1.0
