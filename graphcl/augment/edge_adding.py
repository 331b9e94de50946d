"""Uniform random edge addition (PyGCL's EdgeAdding)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Data

from ._utils import edge_keys, graph_ptr, randint, set_edges
from .base import Augmenter

__all__ = ['EdgeAdding']


class EdgeAdding(Augmenter):
    r"""Adds :math:`\lfloor pE \rceil` random edges (GraphCL / PyGCL ``EdgeAdding``):

    .. math::
        \tilde{\mathcal{E}} = \mathcal{E} \cup \{(u_k, v_k)\}_{k=1}^{\mathrm{round}(p|\mathcal{E}|)},\quad
        u_k \sim \mathcal{U}(\mathcal{V}),\ v_k \sim \mathcal{U}(\mathcal{V}_{g(u_k)})

    where :math:`\mathcal{V}_{g(u)}` are the nodes of :math:`u`'s graph (in a
    :class:`~torch_geometric.data.Batch` added edges never cross graphs). Added edges may duplicate existing ones
    or be self-loops (as in PyGCL); they get ``edge_weight`` :obj:`1` and every other edge attribute :obj:`0`.

    Args:
        p (float): number of added edges as a fraction of :math:`E` (:math:`\ge 0`).
        undirected (bool, optional): add each new pair in both directions (:math:`\mathrm{round}(pE/2)` pairs,
            so still about :math:`pE` directed edges). (default: :obj:`True`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input:** ``edge_index`` :math:`(2, E)`
        - **output:** ``edge_index`` :math:`(2, E + \mathrm{round}(pE))` (up to rounding)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
        >>> EdgeAdding(p=0.5)(data).edge_index.shape
        torch.Size([2, 6])
    """

    _repr_keys = ('p', 'undirected')

    def __init__(self, p: float, undirected: bool = True, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0:
            raise ValueError(f"Expected 'p' to be a non-negative float (got {p!r})")
        self.p = p
        self.undirected = undirected

    def forward(self, data: Data) -> Data:
        keys = edge_keys(data)
        ei = data.edge_index
        num_new = int(round(self.p * ei.size(1) / (2 if self.undirected else 1)))
        ptr = graph_ptr(data, ei.device)
        sizes = ptr[1:] - ptr[:-1]
        nonempty = (sizes > 0).nonzero().view(-1)
        if num_new == 0 or nonempty.numel() == 0:
            return data
        total = int(ptr[-1])
        src = randint(torch.full((num_new,), total, device=ei.device), self.generator)
        graph = torch.bucketize(src, ptr[1:], right=True)
        dst = ptr[graph] + randint(sizes[graph], self.generator)
        new = torch.stack([src, dst])
        if self.undirected:
            new = torch.cat([new, new.flip(0)], dim=1)
        attrs = {}
        for key in keys:
            old = data[key]
            fill = 1 if key == 'edge_weight' else 0
            attrs[key] = torch.cat([old, old.new_full((new.size(1),) + tuple(old.shape[1:]), fill)])
        return set_edges(data, torch.cat([ei, new], dim=1), attrs)
