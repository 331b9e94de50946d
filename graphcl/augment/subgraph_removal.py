"""Connected-subgraph removal for molecular graphs (GraphCL subgraph, MolCLR subgraph removal)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Batch, Data

from ._utils import check_prob, graph_ptr, num_nodes_of, rand, randint, select_nodes
from .base import Augmenter

__all__ = ['SubgraphRemoval']


class SubgraphRemoval(Augmenter):
    r"""Removes a connected subgraph of about a fraction :math:`p` of the atoms, grown by breadth-first search from
    a random atom, as in MolCLR (`"Molecular Contrastive Learning of Representations via Graph Neural Networks",
    Wang et al., Nature Machine Intelligence 2022 <https://arxiv.org/abs/2102.10056>`_; GraphCL's subgraph
    augmentation, `You et al., NeurIPS 2020 <https://arxiv.org/abs/2010.13902>`_, keeps such a subgraph instead):

    .. math::
        k = \lfloor p N \rfloor,\qquad s \sim \mathrm{Uniform}(\mathcal{V}),\qquad
        \mathcal{R} = \text{the } k \text{ atoms nearest to } s \text{ (hop distance, BFS order)},\qquad
        \tilde{\mathcal{V}} = \mathcal{V} \setminus \mathcal{R}

    Whole BFS layers are removed while they fit, then a uniformly random part of the next layer (MolCLR takes the
    next layer's atoms in set order). The removed atoms and every bond touching them are deleted and the remaining
    atoms re-indexed in their original order (``n_id`` records each kept atom's original index, as in
    :class:`NodeDropping`); MolCLR instead keeps removed atoms as masked nodes. If the start atom's connected
    component has fewer than :math:`k` atoms (a salt or mixture), that whole component is removed and nothing else
    (MolCLR's loop never ends in this case). On a :class:`~torch_geometric.data.Batch` each molecule gets its own
    start atom and count. The BFS runs level-synchronously over all molecules at once (one vectorised step per hop,
    no loop over atoms). Meant for plain molecular graphs: apply it before :class:`ElementKnowledgeAugment`.

    Args:
        p (float, optional): fraction of atoms to remove, in :math:`[0, 1]`. (default: :obj:`0.25`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input:** ``x`` :math:`(N, F)`, ``edge_index`` :math:`(2, E)`
        - **output:** ``x`` :math:`(N - k, F)`, ``edge_index`` :math:`(2, E')`

    Example:
        >>> from torch_geometric.utils import from_smiles
        >>> SubgraphRemoval(p=0.5)(from_smiles('CCCCCC')).num_nodes   # floor(0.5 * 6) = 3 atoms removed
        3
    """

    _repr_keys = ('p',)

    def __init__(self, p: float = 0.25, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p

    def forward(self, data: Data) -> Data:
        if 'node_type' in data:
            raise ValueError("Expected a plain molecular graph (got 'data' with 'node_type', a KG-augmented "
                             "molecule); apply SubgraphRemoval before ElementKnowledgeAugment")
        n = num_nodes_of(data)
        if self.p == 0 or n == 0:
            return data
        ei = data.edge_index
        device = ei.device
        ptr = graph_ptr(data, device)
        num_graphs = ptr.numel() - 1
        graph = data.batch if isinstance(data, Batch) else torch.zeros(n, dtype=torch.long, device=device)
        count = ptr[1:] - ptr[:-1]
        k = torch.floor(self.p * count.double()).long()
        active = k > 0
        if not bool(active.any()):
            return data
        start = ptr[:-1] + randint(count.clamp(min=1), self.generator)
        start = start[active]

        # level-synchronous BFS from every start atom; dist = hop distance, -1 = not reached
        dist = torch.full((n,), -1, dtype=torch.long, device=device)
        dist[start] = 0
        frontier = torch.zeros(n, dtype=torch.bool, device=device)
        frontier[start] = True
        row, col = ei
        level = 0
        while True:
            reached = torch.bincount(graph[dist >= 0], minlength=num_graphs)
            if bool((reached >= k).all()):
                break
            nxt = torch.zeros(n, dtype=torch.bool, device=device)
            nxt[col[frontier[row]]] = True
            nxt &= dist < 0
            if not bool(nxt.any()):
                break
            level += 1
            dist[nxt] = level
            frontier = nxt

        # rank the reached atoms of each molecule by (distance, random tie-break); remove the first k
        ok = dist >= 0
        group = torch.where(ok, graph, torch.full_like(graph, num_graphs))
        key = (group.double() * (level + 2) + dist.clamp(min=0).double()
               + rand(n, self.generator, device).double() * 0.5)
        order = torch.argsort(key)
        counts = torch.bincount(group, minlength=num_graphs + 1)
        first = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(group)
        rank[order] = torch.arange(n, device=device) - first[group[order]]
        removed = ok & (rank < torch.cat([k, k.new_zeros(1)])[group])
        return select_nodes(data, ~removed, relabel=True)
