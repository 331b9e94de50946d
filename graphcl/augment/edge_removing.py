"""Uniform edge removal (GRACE, GraphCL)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Data

from ._utils import check_prob, num_nodes_of, pair_uniform, rand, select_edges
from .base import Augmenter

__all__ = ['EdgeRemoving']


class EdgeRemoving(Augmenter):
    r"""Removes each edge independently with probability :math:`p`, as in `"Deep Graph Contrastive
    Representation Learning" (GRACE) <https://arxiv.org/abs/2006.04131>`_:

    .. math::
        \tilde{\mathcal{E}} = \{ e \in \mathcal{E} : r_e = 1 \},\quad r_e \sim \mathrm{Bernoulli}(1 - p)

    Every edge-level attribute (``edge_attr``, ``edge_weight``, ...) is subset with the edges.

    Args:
        p (float): removal probability in :math:`[0, 1]`.
        undirected (bool, optional): one draw per unordered pair, so :math:`(u, v)` and :math:`(v, u)` are kept or
            removed together and an undirected graph stays undirected. (default: :obj:`True`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input:** ``edge_index`` :math:`(2, E)`
        - **output:** ``edge_index`` :math:`(2, E')`, :math:`E' \approx (1 - p) E`

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
        >>> EdgeRemoving(p=1.0)(data).edge_index.shape
        torch.Size([2, 0])
    """

    _repr_keys = ('p', 'undirected')

    def __init__(self, p: float, undirected: bool = True, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p
        self.undirected = undirected

    def forward(self, data: Data) -> Data:
        ei = data.edge_index
        if self.undirected:
            u = pair_uniform(ei, num_nodes_of(data), self.generator)
        else:
            u = rand(ei.size(1), self.generator, ei.device)
        return select_edges(data, u >= self.p)
