"""Clustering metrics: ACC with Hungarian matching, NMI, ARI, macro-F1, modularity, conductance."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def match_clusters(labels, pred) -> np.ndarray:
    """Map each predicted cluster to a class by Hungarian matching on the contingency table.

    Clusters left unmatched (more clusters than classes) map to -1, so they count as errors.
    """
    labels, pred = _as_numpy(labels).astype(np.int64), _as_numpy(pred).astype(np.int64)
    classes, y = np.unique(labels, return_inverse=True)
    clusters, c = np.unique(pred, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (c, y), 1)
    rows, cols = linear_sum_assignment(-table)
    mapping = np.full(len(clusters), -1, dtype=np.int64)
    mapping[rows] = classes[cols]
    return mapping[c]


def cluster_accuracy(labels, pred) -> float:
    """ACC: the fraction of nodes whose Hungarian-matched cluster equals their class."""
    return float(np.mean(match_clusters(labels, pred) == _as_numpy(labels)))


def matched_f1(labels, pred) -> float:
    """Macro-F1 over classes after Hungarian matching."""
    labels = _as_numpy(labels)
    return float(f1_score(labels, match_clusters(labels, pred), labels=np.unique(labels), average="macro"))


def _adjacency(edge_index, num_nodes: int) -> sp.csr_matrix:
    ei = _as_numpy(edge_index)
    adj = sp.coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(num_nodes, num_nodes)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)  # undirected, unweighted
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def modularity(edge_index, pred, num_nodes: int | None = None) -> float:
    r"""Newman modularity :math:`Q = \sum_c \big[ E_{in}(c)/|E| - (\mathrm{vol}(c)/2|E|)^2 \big]` (undirected)."""
    pred = _as_numpy(pred).astype(np.int64)
    adj = _adjacency(edge_index, num_nodes or len(pred))
    two_m = adj.sum()
    onehot = sp.csr_matrix((np.ones(len(pred)), (np.arange(len(pred)), pred)))
    within = np.asarray((onehot.T @ adj @ onehot).diagonal()).ravel()  # 2 * E_in(c)
    vol = np.asarray(onehot.T @ np.asarray(adj.sum(axis=1))).ravel()
    return float(np.sum(within / two_m - (vol / two_m) ** 2))


def conductance(edge_index, pred, num_nodes: int | None = None) -> float:
    """Conductance as in DMoN: edge endpoints leaving their cluster over the total volume."""
    pred = _as_numpy(pred).astype(np.int64)
    adj = _adjacency(edge_index, num_nodes or len(pred)).tocoo()
    leaving = np.sum(pred[adj.row] != pred[adj.col])
    return float(leaving / adj.nnz)


def clustering_metrics(labels, pred, edge_index=None, num_nodes: int | None = None) -> dict[str, float]:
    """ACC, NMI (arithmetic), ARI, macro-F1 and, given the graph, modularity and conductance."""
    labels, pred = _as_numpy(labels), _as_numpy(pred)
    out = {"acc": cluster_accuracy(labels, pred), "nmi": float(normalized_mutual_info_score(labels, pred)),
           "ari": float(adjusted_rand_score(labels, pred)), "f1": matched_f1(labels, pred)}
    if edge_index is not None:
        out["modularity"] = modularity(edge_index, pred, num_nodes)
        out["conductance"] = conductance(edge_index, pred, num_nodes)
    return out
