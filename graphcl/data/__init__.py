"""Graph datasets: the registry, the data root, real loaders and the synthetic default."""
from .graph_file import GRAPH_FILE_SUFFIXES, is_graph_file, load_graph_file
from .integrity import ChecksumError, raw_fingerprint, sha256_file
from .loaders import DatasetNotFoundError, dataset_available, load_graph, validate_graph
from .registry import DatasetInfo, dataset_info, dataset_names, registry
from .root import cache_dir, data_root
from .synthetic import csbm

__all__ = ["load_graph", "load_graph_file", "is_graph_file", "GRAPH_FILE_SUFFIXES", "dataset_available",
           "validate_graph", "DatasetNotFoundError", "ChecksumError", "sha256_file", "raw_fingerprint", "DatasetInfo",
           "dataset_info", "dataset_names", "registry", "data_root", "cache_dir", "csbm"]
