"""Random choice among augmenters (PyGCL's RandomChoice; PyG has only Compose)."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import torch
from torch_geometric.data import Data

from ._utils import rand
from .base import Augmenter

__all__ = ['RandomChoice']


class RandomChoice(Augmenter):
    r"""Applies ``num_choices`` augmenters drawn without replacement from ``augmenters`` (in their listed order),
    as PyGCL's ``RandomChoice`` and GraphCL's random augmentation pairs.

    .. math::
        \tilde{G} = (t_{k_1} \circ \dots \circ t_{k_m})(G),\quad \{k_1 < \dots < k_m\} \sim
        \mathcal{U}\big(\tbinom{[n]}{m}\big)

    Args:
        augmenters (list of callables): candidate transforms (any PyG transform works).
        num_choices (int, optional): how many to apply per call, :math:`1 \le m \le n`. (default: :obj:`1`)
        generator (torch.Generator, optional): random source of the choice. (default: :obj:`None`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> from graphcl.augment import EdgeRemoving, FeatureMasking
        >>> aug = RandomChoice([EdgeRemoving(0.2), FeatureMasking(0.2)], num_choices=1)
        >>> aug(Data(x=torch.ones(2, 2), edge_index=torch.tensor([[0], [1]]))).x.shape
        torch.Size([2, 2])
    """

    _repr_keys = ('augmenters', 'num_choices')

    def __init__(self, augmenters: Sequence[Callable[[Data], Data]], num_choices: int = 1,
                 generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        augmenters = list(augmenters)
        if not augmenters:
            raise ValueError("Expected 'augmenters' to hold at least one transform (got an empty list)")
        if isinstance(num_choices, bool) or not isinstance(num_choices, int) or not 1 <= num_choices <= len(augmenters):
            raise ValueError(f"Expected 'num_choices' to be an int in [1, {len(augmenters)}] (got {num_choices!r})")
        self.augmenters: List[Callable[[Data], Data]] = augmenters
        self.num_choices = num_choices

    def forward(self, data: Data) -> Data:
        idx = torch.argsort(rand(len(self.augmenters), self.generator, torch.device('cpu')))[:self.num_choices]
        for i in sorted(idx.tolist()):
            data = self.augmenters[i](data)
        return data
