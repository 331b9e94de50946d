"""Base class of the graph augmenters."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.transforms import BaseTransform

__all__ = ['Augmenter']


class Augmenter(BaseTransform):
    r"""Base of every augmenter: a :class:`torch_geometric.transforms.BaseTransform` (so
    :class:`~torch_geometric.transforms.Compose` and :class:`~torch_geometric.transforms.RandomChoice` work)
    whose ``__call__`` shallow-copies the input and whose ``forward`` only *replaces* attributes, so the caller's
    graph is never mutated and two calls give two independent views.

    Args:
        generator (torch.Generator, optional): source of randomness; every call advances it, so a generator seeded
            the same way reproduces the same sequence of views. :obj:`None` uses the global RNG.
            (default: :obj:`None`)

    Subclasses list their options in ``_repr_keys``; ``repr`` prints them.
    """

    _repr_keys: tuple = ()

    def __init__(self, generator: Optional[torch.Generator] = None):
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"Expected 'generator' to be a torch.Generator or None (got {type(generator).__name__})")
        self.generator = generator

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={getattr(self, k)!r}' for k in self._repr_keys)
        return f'{self.__class__.__name__}({args})'
