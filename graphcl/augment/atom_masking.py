"""Atom masking for molecular graphs (GraphCL attribute masking, MolCLR atom masking)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils.smiles import x_map

from ._utils import check_prob, rand
from .base import Augmenter

__all__ = ['AtomMasking', 'ATOM_MASK_VALUES']

#: MASK value of each atom-feature column of PyG's ``from_smiles`` format: the column's vocabulary size, so that
#: an embedding table of ``size + 1`` rows has a dedicated MASK row.
ATOM_MASK_VALUES: Tuple[int, ...] = tuple(len(v) for v in x_map.values())


def _group_counts(group: Tensor, num_groups: int) -> Tensor:
    return torch.bincount(group, minlength=num_groups)


def random_rank_in_groups(group: Tensor, num_groups: int, generator: Optional[torch.Generator]) -> Tensor:
    """A uniformly random rank ``0..n_g-1`` of every item within its group (``group``: ``[n]`` long, any order):
    items of one group get a random permutation of ``0..n_g-1``. Vectorised: one sort of ``group + U[0, 1)``."""
    if group.numel() == 0:
        return group.clone()
    key = group.to(torch.float64) + rand(group.numel(), generator, group.device).to(torch.float64)
    order = torch.argsort(key)
    start = torch.cumsum(_group_counts(group, num_groups), 0) - _group_counts(group, num_groups)
    rank = torch.empty_like(group)
    rank[order] = torch.arange(group.numel(), device=group.device) - start[group[order]]
    return rank


class AtomMasking(Augmenter):
    r"""Masks a fraction :math:`p` of the atoms of each molecule, as in MolCLR (`"Molecular Contrastive Learning of
    Representations via Graph Neural Networks", Wang et al., Nature Machine Intelligence 2022
    <https://arxiv.org/abs/2102.10056>`_) and GraphCL's attribute masking (`"Graph Contrastive Learning with
    Augmentations", You et al., NeurIPS 2020 <https://arxiv.org/abs/2010.13902>`_):

    .. math::
        k = \max(1, \lfloor p N \rfloor),\qquad \mathcal{M} \sim \mathrm{Uniform}\{S \subseteq \mathcal{V} :
        |S| = k\},\qquad \tilde{x}_{v, i} = \begin{cases} \mathrm{MASK}_i & v \in \mathcal{M} \\ x_{v, i} &
        \text{otherwise} \end{cases}

    Every column :math:`i` of a masked atom gets its MASK value (:data:`ATOM_MASK_VALUES`: the vocabulary size of
    PyG's ``x_map`` column, so atom embedding tables need ``size + 1`` rows). MolCLR masks at least one atom;
    :math:`p = 0` masks none (identity). On a :class:`~torch_geometric.data.Batch` the count is per molecule. If
    the graph has ``node_type`` (KG-augmented molecule) only atoms (``node_type == 0``) are masked and counted.

    Args:
        p (float, optional): fraction of atoms to mask, in :math:`[0, 1]`. (default: :obj:`0.25`)
        mask_values (Sequence[int], optional): MASK value per column of ``x``. (default: :data:`ATOM_MASK_VALUES`)
        generator (torch.Generator, optional): random source. (default: :obj:`None`)

    Shapes:
        - **input / output:** ``x`` :math:`(N, F)` long (edges unchanged)

    Example:
        >>> from torch_geometric.utils import from_smiles
        >>> out = AtomMasking(p=0.25)(from_smiles('CCO'))   # max(1, floor(0.75)) = 1 atom masked
        >>> int((out.x == torch.tensor(ATOM_MASK_VALUES)).all(1).sum())
        1
    """

    _repr_keys = ('p',)

    def __init__(self, p: float = 0.25, mask_values: Optional[Sequence[int]] = None,
                 generator: Optional[torch.Generator] = None):
        super().__init__(generator)
        check_prob('p', p)
        self.p = p
        self.mask_values = tuple(ATOM_MASK_VALUES if mask_values is None else (int(v) for v in mask_values))

    def forward(self, data: Data) -> Data:
        x = data.x
        if x is None or x.dim() != 2 or x.size(1) != len(self.mask_values):
            raise ValueError(f"Expected 'data.x' of shape (N, {len(self.mask_values)}) to match 'mask_values' "
                             f"(got {None if x is None else tuple(x.shape)})")
        if self.p == 0 or x.size(0) == 0:
            return data
        n = x.size(0)
        device = x.device
        if isinstance(data, Batch):
            graph, num_graphs = data.batch, data.num_graphs
        else:
            graph, num_graphs = torch.zeros(n, dtype=torch.long, device=device), 1
        candidate = data.node_type == 0 if 'node_type' in data else torch.ones(n, dtype=torch.bool, device=device)
        # non-candidates go to an extra group that is never masked
        group = torch.where(candidate, graph, torch.full_like(graph, num_graphs))
        count = torch.bincount(group, minlength=num_graphs + 1)[:num_graphs]
        k = torch.clamp(torch.floor(self.p * count.double()).long(), min=1)
        k = torch.minimum(k, count)
        rank = random_rank_in_groups(group, num_graphs + 1, self.generator)
        masked = candidate & (rank < torch.cat([k, k.new_zeros(1)])[group])
        mask_row = torch.tensor(self.mask_values, dtype=x.dtype, device=device)
        data.x = torch.where(masked[:, None], mask_row, x)
        return data
