"""Self-supervised graph methods and their registry (``graphcl train NAME``)."""
from .base import METHODS, Method, get_method, register_method
from .config import COMMON_DEFAULTS, resolve_config
from .grace import GRACE
from .csgcl import CSGCL
from .ggd import GGD
from .pamc import PamC

__all__ = ["Method", "METHODS", "get_method", "register_method", "resolve_config", "COMMON_DEFAULTS", "GRACE", "CSGCL",
           "GGD", "PamC"]
