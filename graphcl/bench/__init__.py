"""Benchmarks callable from the command line (``graphcl bench clustering ...``) and from ``benchmarks/``."""
from .clustering import (BENCH_METHODS, DEFAULT_DATASETS, PUBLISHED, ClusteringResult, run_benchmark,
                         score_clustering, summarise)

__all__ = ["BENCH_METHODS", "DEFAULT_DATASETS", "PUBLISHED", "ClusteringResult", "run_benchmark",
           "score_clustering", "summarise"]
