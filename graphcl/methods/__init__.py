"""Self-supervised graph methods and their registry (``graphcl train NAME``); molecule pretraining methods and
theirs (``graphcl pretrain NAME``)."""
from .base import METHODS, Method, get_method, register_method
from .config import COMMON_DEFAULTS, resolve_config
from .grace import GRACE
from .csgcl import CSGCL
from .ggd import GGD
from .pamc import PamC
from .molecule_base import PRETRAIN_METHODS, MoleculePretrainMethod, get_pretrain_method, register_pretrain_method
from .kcl import KCL
from .graphcl_mol import GraphCLMol

__all__ = ["Method", "METHODS", "get_method", "register_method", "resolve_config", "COMMON_DEFAULTS", "GRACE", "CSGCL",
           "GGD", "PamC", "MoleculePretrainMethod", "PRETRAIN_METHODS", "get_pretrain_method",
           "register_pretrain_method", "KCL", "GraphCLMol"]
