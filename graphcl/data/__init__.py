"""Graph datasets: the registry, the data root, real loaders and the synthetic default.

The registry and the data root are light (``graphcl list`` reads them); the loaders, which import torch and PyG,
are imported on first use.
"""
from .. import _lazy_exports
from .registry import DatasetInfo, dataset_info, dataset_names, registry
from .root import cache_dir, data_root

_EXPORTS = {
    **dict.fromkeys(("GRAPH_FILE_SUFFIXES", "is_graph_file", "load_graph_file"), ".graph_file"),
    **dict.fromkeys(("ChecksumError", "raw_fingerprint", "sha256_file"), ".integrity"),
    **dict.fromkeys(("DatasetNotFoundError", "dataset_available", "load_graph", "validate_graph"), ".loaders"),
    "csbm": ".synthetic",
}
__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)

__all__ = ["load_graph", "load_graph_file", "is_graph_file", "GRAPH_FILE_SUFFIXES", "dataset_available",
           "validate_graph", "DatasetNotFoundError", "ChecksumError", "sha256_file", "raw_fingerprint", "DatasetInfo",
           "dataset_info", "dataset_names", "registry", "data_root", "cache_dir", "csbm"]
