"""Entry-wise feature dropout."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Data

from ._utils import check_prob, rand
from .base import Augmenter

__all__ = ['FeatureDropout']


class FeatureDropout(Augmenter):
    r"""Zeroes each entry of ``x`` independently with probability :math:`p`:

    .. math::
        \tilde{X}_{ij} = c\, m_{ij} X_{ij},\quad m_{ij} \sim \mathrm{Bernoulli}(1 - p),\quad
        c = \begin{cases} 1/(1 - p) & \text{rescale} \\ 1 & \text{otherwise} \end{cases}

    PyGCL's ``FeatureDropout(pf)`` called ``F.dropout(x, 1 - pf)``, i.e. dropped with probability :math:`1 - p_f`
    and rescaled; here :math:`p` is the drop probability, and rescaling is opt-in.

    Args:
        p (float): drop probability in :math:`[0, 1]`.
        rescale (bool, optional): multiply kept entries by :math:`1/(1 - p)` (inverted dropout).
            (default: :obj:`False`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input / output:** ``x`` :math:`(N, F)`

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> FeatureDropout(p=0.0)(Data(x=torch.ones(2, 3))).x.sum().item()
        6.0
    """

    _repr_keys = ('p', 'rescale')

    def __init__(self, p: float, rescale: bool = False, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        if rescale and p == 1:
            raise ValueError("Expected 'p' < 1 when 'rescale' is True (got p=1)")
        self.p = p
        self.rescale = rescale

    def forward(self, data: Data) -> Data:
        x = data.x
        keep = (rand(x.shape, self.generator, x.device) >= self.p).to(x.dtype)
        if self.rescale and self.p > 0:
            keep = keep / (1 - self.p)
        data.x = x * keep
        return data
