"""Knowledge-guided graph augmentation of KCL: attribute nodes of the element KG joined to a molecule's atoms."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from ..molecules.element_kg import NUM_ELEMENTS, ElementKG, build_element_kg, element_attribute_table
from ._utils import edge_keys, node_keys
from .base import Augmenter

__all__ = ['ElementKnowledgeAugment']


class ElementKnowledgeAugment(Augmenter):
    r"""Adds the element-KG attribute nodes of a molecule's atoms, as in `"Molecular Contrastive Learning with
    Chemical Element Knowledge Graph" (KCL, Fang et al., AAAI 2022) <https://arxiv.org/abs/2112.00544>`_.

    For every attribute :math:`a` of an element present in the molecule (a triple :math:`(a, r, \text{el})` of the
    KG) one attribute node is added, shared by all atoms of the molecule that have the attribute, with an edge
    :math:`a \to v` of relation :math:`r` to each such atom :math:`v`:

    .. math::
        \tilde{\mathcal{V}} = \mathcal{V} \cup \{a : (a, r, z_v) \in \mathcal{K},\ v \in \mathcal{V}\},\qquad
        \tilde{\mathcal{E}} = \mathcal{E} \cup \{(a, v, r) : (a, r, z_v) \in \mathcal{K}\}

    so one ``Period2`` node links every C, N and O atom: atoms that share an attribute are two hops apart without a
    bond. KCL's reference (``code/data/smiles_to_dglgraph.py``, ``smiles_2_kgdgl``) adds KG edges in one direction
    only, attribute to atom (it also keeps one edge per line of its triple file, so its 3 duplicated lines give
    duplicate edges, and drops atoms without bonds); here edges are unique per (attribute, atom) and every atom is
    kept. ``bidirectional=True`` also adds the reversed edges atom to attribute.

    The output follows the KG-augmented molecule format: atoms first (unchanged), then the :math:`M` attribute
    nodes in increasing entity order (``x`` rows all zero, ``node_type`` 1, ``kg_entity`` = entity index); bond
    edges first in their original order, then the KG edges ordered by atom, then relation (``edge_type`` 1,
    ``edge_attr`` rows zero, ``kg_relation`` = relation index), then (bidirectional) their reverses in the same
    order. Other node- or edge-level tensors are padded with zeros (``y`` is taken as graph-level). The atomic
    numbers are read from ``x[:, 0]`` (PyG's :func:`~torch_geometric.utils.from_smiles` format); apply the transform
    to single molecules (``transform``/``pre_transform`` of a dataset), before batching.

    Args:
        kg (ElementKG, optional): the element KG. (default: :func:`~graphcl.molecules.element_kg.build_element_kg`)
        bidirectional (bool, optional): add atom-to-attribute edges too. (default: :obj:`False`, as KCL)

    Shapes:
        - **input:** ``x`` :math:`(N, 9)` long, ``edge_index`` :math:`(2, E)`, ``edge_attr`` :math:`(E, 3)`
        - **output:** ``x`` :math:`(N + M, 9)`, ``node_type``, ``kg_entity`` :math:`(N + M)`; ``edge_index``
          :math:`(2, E + E_{kg})`, ``edge_type``, ``kg_relation`` :math:`(E + E_{kg})`, ``edge_attr``
          :math:`(E + E_{kg}, 3)` with :math:`E_{kg}` = number of (atom, attribute) pairs (times 2 if
          bidirectional)

    Example:
        >>> from torch_geometric.utils import from_smiles
        >>> out = ElementKnowledgeAugment()(from_smiles('CCO'))
        >>> int((out.node_type == 0).sum()), int((out.edge_type == 0).sum())
        (3, 4)
    """

    _repr_keys = ('bidirectional',)

    def __init__(self, kg: Optional[ElementKG] = None, bidirectional: bool = False):
        super().__init__(None)
        if kg is not None and not isinstance(kg, ElementKG):
            raise TypeError(f"Expected 'kg' to be an ElementKG or None (got {type(kg).__name__})")
        if not isinstance(bidirectional, bool):
            raise TypeError(f"Expected 'bidirectional' to be a bool (got {type(bidirectional).__name__})")
        self.kg = build_element_kg() if kg is None else kg
        self.bidirectional = bidirectional
        self.table = element_attribute_table(self.kg)

    def forward(self, data: Data) -> Data:
        if isinstance(data, Batch):
            raise ValueError("Expected a single molecule 'data' (got a Batch); apply ElementKnowledgeAugment to "
                             "each molecule before batching")
        if 'node_type' in data or 'kg_relation' in data:
            raise ValueError("Expected a molecule without KG nodes (got 'data' that already has 'node_type' or "
                             "'kg_relation')")
        x: Tensor = data.x
        if x is None or x.dtype != torch.long or x.dim() != 2:
            raise ValueError(f"Expected 'data.x' to be a 2-D LongTensor of atom features with the atomic number in "
                             f"column 0 (got {None if x is None else (x.dtype, tuple(x.shape))})")
        z = x[:, 0]
        if z.numel() and (int(z.min()) < 0 or int(z.max()) > NUM_ELEMENTS):
            raise ValueError(f"Expected atomic numbers in [0, {NUM_ELEMENTS}] in 'data.x[:, 0]' "
                             f"(got [{int(z.min())}, {int(z.max())}])")
        device = x.device
        n = x.size(0)
        # 'y' is graph-level in molecule data sets (PyG would call a [1, T] label of a 1-atom molecule node-level)
        n_keys = [k for k in node_keys(data) if k != 'y']
        e_keys = [k for k in edge_keys(data) if k != 'y']
        num_bonds = data.edge_index.size(1)

        entity = self.table.entity.to(device)[z]  # (N, R), -1 where the element has no value
        relation = self.table.relation.to(device)[z]
        valid = entity >= 0
        atom = torch.arange(n, device=device)[:, None].expand_as(entity)[valid]  # row-major: by atom, then relation
        attr_entity, rel = entity[valid], relation[valid]
        uniq, inverse = torch.unique(attr_entity, return_inverse=True)  # one node per attribute in the molecule
        m = uniq.numel()
        attr_node = n + inverse
        src, dst, kg_rel = attr_node, atom, rel
        if self.bidirectional:
            src, dst, kg_rel = torch.cat([src, atom]), torch.cat([dst, attr_node]), torch.cat([rel, rel])
        e_kg = src.numel()

        for key in n_keys:
            value = data[key]
            data[key] = torch.cat([value, value.new_zeros((m,) + tuple(value.shape[1:]))])
        for key in e_keys:
            value = data[key]
            data[key] = torch.cat([value, value.new_zeros((e_kg,) + tuple(value.shape[1:]))])
        data.edge_index = torch.cat([data.edge_index, torch.stack([src, dst])], dim=1)
        data.node_type = torch.cat([torch.zeros(n, dtype=torch.long, device=device),
                                    torch.ones(m, dtype=torch.long, device=device)])
        data.kg_entity = torch.cat([torch.zeros(n, dtype=torch.long, device=device), uniq])
        data.edge_type = torch.cat([torch.zeros(num_bonds, dtype=torch.long, device=device),
                                    torch.ones(e_kg, dtype=torch.long, device=device)])
        data.kg_relation = torch.cat([torch.zeros(num_bonds, dtype=torch.long, device=device), kg_rel])
        if 'num_nodes' in data:  # an explicit node count must follow
            data.num_nodes = n + m
        return data
