"""Feature-column masking (GRACE)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Data

from ._utils import check_prob, rand, scale_columns
from .base import Augmenter

__all__ = ['FeatureMasking']


class FeatureMasking(Augmenter):
    r"""Zeroes whole feature columns, each with probability :math:`p`, as in `"Deep Graph Contrastive
    Representation Learning" (GRACE) <https://arxiv.org/abs/2006.04131>`_:

    .. math::
        \tilde{X} = X \,\mathrm{diag}(m),\quad m_j \sim \mathrm{Bernoulli}(1 - p)

    One mask per call is shared by all nodes (also across the graphs of a Batch).

    Args:
        p (float): masking probability per column in :math:`[0, 1]`.
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input / output:** ``x`` :math:`(N, F)`

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> FeatureMasking(p=1.0)(Data(x=torch.ones(2, 3))).x.sum().item()
        0.0
    """

    _repr_keys = ('p',)

    def __init__(self, p: float, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p

    def forward(self, data: Data) -> Data:
        x = data.x
        keep = rand(x.size(-1), self.generator, x.device) >= self.p
        data.x = scale_columns(x, keep.to(x.dtype))
        return data
