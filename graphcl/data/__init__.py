"""Graph datasets: the registry, the data root, real loaders and the synthetic default."""
from .loaders import DatasetNotFoundError, dataset_available, load_graph, validate_graph
from .registry import DatasetInfo, dataset_info, dataset_names, registry
from .root import cache_dir, data_root
from .synthetic import csbm

__all__ = ["load_graph", "dataset_available", "validate_graph", "DatasetNotFoundError", "DatasetInfo", "dataset_info",
           "dataset_names", "registry", "data_root", "cache_dir", "csbm"]
