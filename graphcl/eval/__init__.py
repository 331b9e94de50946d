"""Evaluation of frozen embeddings: linear probe, k-means and clustering metrics, link prediction."""
from .clustering import cluster_accuracy, clustering_metrics, conductance, match_clusters, matched_f1, modularity
from .kmeans import KMEANS_BACKENDS, KMeansResult, kmeans, kmeans_fit
from .link_prediction import EdgeSplit, link_prediction_scores, sample_non_edges, split_edges
from .linear_probe import ProbeResult, linear_probe, random_split

__all__ = ["linear_probe", "random_split", "ProbeResult", "clustering_metrics", "cluster_accuracy",
           "match_clusters", "matched_f1", "modularity", "conductance", "kmeans", "kmeans_fit", "KMeansResult",
           "KMEANS_BACKENDS", "EdgeSplit", "split_edges", "sample_non_edges", "link_prediction_scores"]
