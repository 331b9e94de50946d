"""Bond deletion for molecular graphs (GraphCL edge perturbation, MolCLR bond deletion)."""
from __future__ import annotations

from typing import Optional

import torch
from torch_geometric.data import Batch, Data

from ._utils import check_prob, num_nodes_of, pair_inverse, select_edges
from .atom_masking import random_rank_in_groups
from .base import Augmenter

__all__ = ['BondDeletion']


class BondDeletion(Augmenter):
    r"""Deletes a fraction :math:`p` of the bonds of each molecule, both directions of a bond together, as in MolCLR
    (`"Molecular Contrastive Learning of Representations via Graph Neural Networks", Wang et al., Nature Machine
    Intelligence 2022 <https://arxiv.org/abs/2102.10056>`_; after GraphCL's edge perturbation, `You et al., NeurIPS
    2020 <https://arxiv.org/abs/2010.13902>`_):

    .. math::
        k = \lfloor p B \rfloor,\qquad \mathcal{D} \sim \mathrm{Uniform}\{S \subseteq \mathcal{B} : |S| = k\},
        \qquad \tilde{\mathcal{E}} = \{(u, v) \in \mathcal{E} : \{u, v\} \notin \mathcal{D}\}

    with :math:`\mathcal{B}` the bonds (unordered atom pairs) and :math:`B = |\mathcal{B}|`. Exactly
    :math:`2k` directed edges are removed per molecule, with their rows of every edge-level attribute
    (``edge_attr``, ...); nodes are kept. Unlike :class:`AtomMasking`, no minimum of one (MolCLR). On a
    :class:`~torch_geometric.data.Batch` the count is per molecule. If the graph has ``edge_type``
    (KG-augmented molecule) only bonds (``edge_type == 0``) are candidates.

    Args:
        p (float, optional): fraction of bonds to delete, in :math:`[0, 1]`. (default: :obj:`0.25`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input:** ``edge_index`` :math:`(2, 2B)`, ``edge_attr`` :math:`(2B, F)`
        - **output:** ``edge_index`` :math:`(2, 2(B - k))`, ``edge_attr`` :math:`(2(B - k), F)`

    Example:
        >>> from torch_geometric.utils import from_smiles
        >>> BondDeletion(p=0.5)(from_smiles('CCCCC')).edge_index.shape   # 4 bonds, 2 deleted
        torch.Size([2, 4])
    """

    _repr_keys = ('p',)

    def __init__(self, p: float = 0.25, generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p

    def forward(self, data: Data) -> Data:
        ei = data.edge_index
        if self.p == 0 or ei.size(1) == 0:
            return data
        device = ei.device
        num_pairs, inverse = pair_inverse(ei, num_nodes_of(data))
        e = ei.size(1)
        # one representative (first) edge per unordered pair, to find its molecule and type
        rep = torch.full((num_pairs,), e, dtype=torch.long, device=device)
        rep = rep.scatter_reduce(0, inverse, torch.arange(e, device=device), reduce='amin')
        if isinstance(data, Batch):
            graph, num_graphs = data.batch[ei[0, rep]], data.num_graphs
        else:
            graph, num_graphs = torch.zeros(num_pairs, dtype=torch.long, device=device), 1
        if 'edge_type' in data:
            graph = torch.where(data.edge_type[rep] == 0, graph, torch.full_like(graph, num_graphs))
        count = torch.bincount(graph, minlength=num_graphs + 1)
        k = torch.floor(self.p * count.double()).long()
        k[num_graphs] = 0  # non-bond edges are never deleted
        rank = random_rank_in_groups(graph, num_graphs + 1, self.generator)
        deleted = rank < k[graph]
        return select_edges(data, ~deleted[inverse])
