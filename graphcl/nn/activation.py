"""Activation lookup by name, shared by every encoder and head in :mod:`graphcl.nn`."""
from __future__ import annotations

import functools
from typing import Callable, Dict

from torch import nn

__all__ = ["ACTIVATIONS", "RRELU_SLOPE", "get_activation"]

#: Negative slope of ``"rrelu"``: the midpoint of RReLU's default range :math:`[1/8, 1/3]`, the fixed slope that
#: ``torch.nn.functional.rrelu(x)`` applies with its default ``training=False``, as GCA's and CSGCL's code calls it.
RRELU_SLOPE = (1 / 8 + 1 / 3) / 2

#: name -> factory returning a fresh module (so learnable activations such as PReLU are
#: never shared between layers).
_FACTORIES: Dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "prelu": nn.PReLU,
    "rrelu": functools.partial(nn.LeakyReLU, negative_slope=RRELU_SLOPE),  # F.rrelu(x): the reference's
    "rrelu_random": nn.RReLU,  # a random slope in [1/8, 1/3] per element while training, the mean in eval
    "elu": nn.ELU,
    "selu": nn.SELU,
    "celu": nn.CELU,
    "gelu": nn.GELU,  # exact (erf) GELU, as RecBole's FeedForward.gelu
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,  # RecBole's name for x * sigmoid(x)
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
    "none": nn.Identity,
}

#: Valid activation names, sorted.
ACTIVATIONS = tuple(sorted(_FACTORIES))


def get_activation(name: str) -> nn.Module:
    r"""Return a new activation module for ``name`` (case-insensitive).

    Every call builds a fresh module, so ``"prelu"`` gives one learnable
    :class:`torch.nn.PReLU` per call (per layer). ``"rrelu"`` is the fixed slope
    :data:`RRELU_SLOPE` in training and evaluation alike (a :class:`torch.nn.LeakyReLU`): it is what
    ``F.rrelu(x)`` computes with its default ``training=False``, the call of the GCA/CSGCL code whose
    presets use it. ``"rrelu_random"`` is :class:`torch.nn.RReLU` (a random slope while training, the
    mean slope in eval).

    Args:
        name (str): one of :data:`ACTIVATIONS`.

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: if ``name`` is unknown; the message lists the valid names.

    Example:
        >>> get_activation("prelu")
        PReLU(num_parameters=1)
    """
    if isinstance(name, nn.Module):
        raise TypeError(f"Expected 'activation' to be a string, one of {ACTIVATIONS} "
                        f"(got module {name!r}); pass the name so each layer gets its own copy")
    if not isinstance(name, str):
        raise TypeError(f"Expected 'activation' to be a string (got {type(name).__name__})")
    key = name.lower()
    if key not in _FACTORIES:
        raise ValueError(f"Expected 'activation' to be one of {ACTIVATIONS} (got {name!r})")
    return _FACTORIES[key]()
