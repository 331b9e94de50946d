"""Uniform node dropping (GraphCL)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Data

from ._utils import check_prob, num_nodes_of, rand, select_nodes
from .base import Augmenter

__all__ = ['NodeDropping']


class NodeDropping(Augmenter):
    r"""Drops each node independently with probability :math:`p`, with all its edges, as in `"Graph Contrastive
    Learning with Augmentations" (GraphCL) <https://arxiv.org/abs/2010.13902>`_:

    .. math::
        \tilde{\mathcal{V}} = \{ i : r_i = 1 \},\quad r_i \sim \mathrm{Bernoulli}(1 - p),\quad
        \tilde{\mathcal{E}} = \{ (u, v) \in \mathcal{E} : u, v \in \tilde{\mathcal{V}} \}

    Args:
        p (float): drop probability in :math:`[0, 1]`.
        relabel_nodes (bool, optional): :obj:`True` removes the dropped nodes (node attributes subset, indices
            compacted, ``n_id`` holds the original index of each kept node: for graph-level contrast);
            :obj:`False` keeps every node and only isolates the dropped ones, so both views stay aligned node by
            node (node-level contrast, PyGCL's behaviour). (default: :obj:`True`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input:** ``x`` :math:`(N, F)`, ``edge_index`` :math:`(2, E)`
        - **output:** ``x`` :math:`(N', F)` (or :math:`(N, F)`), ``edge_index`` :math:`(2, E')`

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> data = Data(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]))
        >>> NodeDropping(p=0.0)(data).num_nodes
        3
    """

    _repr_keys = ('p', 'relabel_nodes')

    def __init__(self, p: float, relabel_nodes: bool = True, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p
        self.relabel_nodes = relabel_nodes

    def forward(self, data: Data) -> Data:
        keep = rand(num_nodes_of(data), self.generator, data.edge_index.device) >= self.p
        return select_nodes(data, keep, self.relabel_nodes)
