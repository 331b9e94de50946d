"""Random-walk subgraph sampling (GraphCL's subgraph view, PyGCL's RWSampling)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from ._utils import num_nodes_of, rand, randint, select_nodes
from .base import Augmenter

__all__ = ['RWSampling', 'random_walk']


def random_walk(edge_index: Tensor, num_nodes: int, start: Tensor, walk_length: int,
                generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Uniform random walks from every node of ``start``, all walkers advanced together (vectorised over
    walkers; the only loop is over the ``walk_length`` steps). A walker on a node without out-edges stays there.
    Replaces ``torch_cluster.random_walk``.

    Returns:
        torch.Tensor: visited nodes, shape ``[len(start), walk_length + 1]`` (column 0 is ``start``).
    """
    row, col = edge_index
    perm = torch.argsort(row, stable=True)
    col = col[perm]
    deg = torch.bincount(row, minlength=num_nodes)
    rowptr = torch.cat([deg.new_zeros(1), deg.cumsum(0)])
    cur = start
    out = [cur]
    for _ in range(walk_length):
        d = deg[cur]
        has = d > 0
        step = randint(d.clamp(min=1), generator)
        nxt = col[(rowptr[cur] + step).clamp(max=max(col.numel() - 1, 0))] if col.numel() else cur
        cur = torch.where(has, nxt, cur)
        out.append(cur)
    return torch.stack(out, dim=1)


class RWSampling(Augmenter):
    r"""Keeps the subgraph induced by the nodes visited by random walks, as in `"Graph Contrastive Learning with
    Augmentations" (GraphCL) <https://arxiv.org/abs/2010.13902>`_ (PyGCL ``RWSampling``):

    .. math::
        \tilde{\mathcal{V}} = \bigcup_{s \in S} \{ w_0^s, \dots, w_L^s \},\quad
        w_0^s = s,\ w_{t+1}^s \sim \mathcal{U}(\mathcal{N}(w_t^s)),\quad
        \tilde{\mathcal{E}} = \mathcal{E} \cap (\tilde{\mathcal{V}} \times \tilde{\mathcal{V}})

    with :math:`|S|` seeds drawn uniformly without replacement. Implemented in plain PyTorch (no
    ``torch_cluster``).

    Args:
        num_seeds (int): number of walk starts (capped at :math:`N`).
        walk_length (int): steps per walk :math:`L`.
        relabel_nodes (bool, optional): see :class:`NodeDropping`. (default: :obj:`True`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
        >>> RWSampling(num_seeds=4, walk_length=2)(Data(edge_index=ring, num_nodes=4)).num_nodes
        4
    """

    _repr_keys = ('num_seeds', 'walk_length', 'relabel_nodes')

    def __init__(self, num_seeds: int, walk_length: int, relabel_nodes: bool = True,
                 generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        for name, v, lo in (('num_seeds', num_seeds, 1), ('walk_length', walk_length, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"Expected '{name}' to be an int >= {lo} (got {v!r})")
        self.num_seeds = num_seeds
        self.walk_length = walk_length
        self.relabel_nodes = relabel_nodes

    def forward(self, data: Data) -> Data:
        n = num_nodes_of(data)
        device = data.edge_index.device
        k = min(self.num_seeds, n)
        start = torch.argsort(rand(n, self.generator, device))[:k]
        visited = random_walk(data.edge_index, n, start, self.walk_length, self.generator)
        keep = torch.zeros(n, dtype=torch.bool, device=device)
        keep[visited.view(-1)] = True
        return select_nodes(data, keep, self.relabel_nodes)
