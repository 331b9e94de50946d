"""Evaluation of frozen embeddings: linear probe, clustering metrics, link prediction."""
from .clustering import (cluster_accuracy, clustering_metrics, conductance, kmeans, match_clusters, matched_f1,
                         modularity)
from .linear_probe import ProbeResult, linear_probe, random_split

__all__ = ["linear_probe", "random_split", "ProbeResult", "clustering_metrics", "cluster_accuracy",
           "match_clusters", "matched_f1", "modularity", "conductance", "kmeans"]
