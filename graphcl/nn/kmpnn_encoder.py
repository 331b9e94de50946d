r"""KMPNN, the encoder of KCL's knowledge-augmented molecule view (Fang et al., AAAI 2022)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .atom_encoder import AtomEncoder, BondEncoder
from .backbone_conv import BackboneConv
from .readout import graph_readout, read_out

__all__ = ["KMPNNEncoder"]


def _init_table(num: int, init: Optional[Tensor], default_dim: int, name: str, count_name: str) -> Tensor:
    if init is None:
        return torch.randn(num, default_dim)
    if not isinstance(init, Tensor) or init.dim() != 2 or init.shape[0] != num:
        shape = tuple(init.shape) if isinstance(init, Tensor) else type(init).__name__
        raise ValueError(f"Expected '{name}' of shape ({count_name}={num}, D) (got {shape})")
    return init.detach().float().clone()


class KMPNNEncoder(nn.Module):
    r"""Knowledge-aware message passing (KMPNN) of `KCL (Fang et al., AAAI 2022)
    <https://arxiv.org/abs/2112.00544>`_ on the KG-augmented molecule: atoms plus attribute
    nodes of the element knowledge graph, bonds plus attribute -> atom KG edges.

    .. math::
        \mathbf{h}^{(0)}_v = \mathrm{ReLU}(\mathbf{W}_p \mathbf{z}_v + \mathbf{b}_p),\quad
        \mathbf{m}^{(t)}_i = \mathrm{ReLU}\Big(\sum_{\tau \in \{\text{bond}, \text{KG}\}}
        \sum_{j \in \mathcal{N}_\tau(i)} \alpha_{ji}\, \mathbf{h}^{(t)}_j
        \mathbf{W}_\tau(\mathbf{e}_{ji}) + \mathbf{b}\Big),\quad
        \mathbf{h}^{(t+1)}_i = \mathrm{GRU}(\mathbf{m}^{(t)}_i, \mathbf{h}^{(t)}_i)

    with :math:`\mathbf{z}_v` the atom embedding (:class:`AtomEncoder`) or the attribute node's
    entity embedding (initialised from ``entity_init``, e.g. RotatE), :math:`\mathbf{e}_{ji}`
    the bond embedding (:class:`BondEncoder`) or the KG relation embedding (from
    ``relation_init``), :math:`\mathbf{W}_\tau` one edge network per edge type and
    :math:`\alpha_{ji}` attention softmax-normalised separately over the incoming bond and KG
    edges (:class:`BackboneConv` ``mode="nnconv"``, ``attention=True``, LeakyReLU slope 0.01).
    One layer is shared by the ``num_steps`` steps; the readout (Set2Set by default) gives the
    graph embedding. Defaults are the reference's (``code/pretrain.py``): 128-d atom/entity
    embeddings, 64-d hidden states and edge embeddings, edge networks ``64 -> 128 -> 64*64``,
    6 steps, Set2Set with 6 steps and a 3-layer LSTM, atom type and bond type only.

    Input format: a (batched) PyG ``Data`` with ``x`` :math:`(N, 9)`, ``edge_index``,
    ``edge_attr`` :math:`(E, 3)` and, for augmented molecules, ``node_type`` (1 = attribute
    node), ``kg_entity``, ``edge_type`` (1 = KG edge), ``kg_relation``. A plain molecule (no
    ``node_type`` / ``edge_type``) is all atoms and bonds.

    Args:
        num_entities (int): entities of the element KG (attribute nodes are indexed in it).
        num_relations (int): KG relations.
        hidden_channels (int, optional): node state width. (default: :obj:`64`)
        edge_channels (int, optional): bond / relation embedding width. (default: :obj:`64`)
        edge_hidden_channels (int, optional): hidden width of the edge networks.
            (default: :obj:`128`)
        num_steps (int, optional): message-passing steps. (default: :obj:`6`)
        entity_init (Tensor, optional): :math:`(\text{num\_entities}, D_e)` initial entity
            embeddings (trainable); mapped to ``embedding_channels`` by a linear layer when
            :math:`D_e` differs. (default: :obj:`None`, standard normal)
        relation_init (Tensor, optional): :math:`(\text{num\_relations}, D_r)` initial relation
            embeddings; mapped to ``edge_channels`` when :math:`D_r` differs.
            (default: :obj:`None`, standard normal)
        atom_columns (sequence of int, optional): atom feature columns embedded.
            (default: :obj:`(0,)`, atom type)
        bond_columns (sequence of int, optional): bond feature columns embedded.
            (default: :obj:`(0,)`, bond type)
        embedding_channels (int, optional): atom / entity embedding width before the
            projection. (default: :obj:`128`)
        readout (str, optional): see :func:`graph_readout`. (default: :obj:`"set2set"`)
        attention (bool, optional): per-type attention. (default: :obj:`True`)
        negative_slope (float, optional): attention LeakyReLU slope. (default: :obj:`0.01`)

    Shapes:
        - **input:** a ``Batch`` of :math:`B` graphs, :math:`N` nodes
        - **output:** :math:`(B, \text{out\_channels})`; :meth:`node_embeddings`
          :math:`(N, \text{hidden\_channels})`
    """

    def __init__(self, num_entities: int, num_relations: int, hidden_channels: int = 64,
                 edge_channels: int = 64, edge_hidden_channels: int = 128, num_steps: int = 6,
                 entity_init: Optional[Tensor] = None, relation_init: Optional[Tensor] = None,
                 atom_columns: Optional[Sequence[int]] = (0,),
                 bond_columns: Optional[Sequence[int]] = (0,), embedding_channels: int = 128,
                 readout: str = "set2set", attention: bool = True, negative_slope: float = 0.01):
        super().__init__()
        for name, value in (("num_entities", num_entities), ("num_relations", num_relations),
                            ("hidden_channels", hidden_channels), ("edge_channels", edge_channels),
                            ("edge_hidden_channels", edge_hidden_channels), ("num_steps", num_steps),
                            ("embedding_channels", embedding_channels)):
            if int(value) != value or value < 1:
                raise ValueError(f"Expected '{name}' to be a positive integer (got {value!r})")
        self.num_entities, self.num_relations = int(num_entities), int(num_relations)
        self.hidden_channels = int(hidden_channels)
        self.edge_channels = int(edge_channels)
        self.num_steps = int(num_steps)
        self.embedding_channels = int(embedding_channels)

        entity = _init_table(self.num_entities, entity_init, self.embedding_channels, "entity_init",
                             "num_entities")
        relation = _init_table(self.num_relations, relation_init, self.edge_channels, "relation_init",
                               "num_relations")
        # initial tables kept (not saved) so that reset_parameters restores them
        self.register_buffer("_entity_init", entity, persistent=False)
        self.register_buffer("_relation_init", relation, persistent=False)
        self.entity_emb = nn.Embedding(self.num_entities, entity.shape[1])
        self.relation_emb = nn.Embedding(self.num_relations, relation.shape[1])
        self.entity_proj = nn.Linear(entity.shape[1], self.embedding_channels) \
            if entity.shape[1] != self.embedding_channels else None
        self.relation_proj = nn.Linear(relation.shape[1], self.edge_channels) \
            if relation.shape[1] != self.edge_channels else None
        self.atom_encoder = AtomEncoder(self.embedding_channels, columns=atom_columns)
        self.bond_encoder = BondEncoder(self.edge_channels, columns=bond_columns)
        self.project = nn.Sequential(nn.Linear(self.embedding_channels, self.hidden_channels), nn.ReLU())
        self.conv = BackboneConv(self.hidden_channels, self.hidden_channels, mode="nnconv",
                                 edge_dim=self.edge_channels, edge_hidden_channels=int(edge_hidden_channels),
                                 num_edge_types=2, attention=attention, negative_slope=negative_slope)
        self.gru = nn.GRU(self.hidden_channels, self.hidden_channels)
        self.readout = graph_readout(readout, self.hidden_channels)
        self.out_channels = self.readout.out_channels
        # mixed-radix code of the embedded bond columns: one integer per bond category
        sizes = [self.bond_encoder.feature_sizes[c] + 1 for c in self.bond_encoder.columns]
        self.register_buffer("_bond_radix", torch.tensor([1] + sizes[:-1]).cumprod(0), persistent=False)
        self.register_buffer("_bond_sizes", torch.tensor(sizes), persistent=False)
        self._num_bond_codes = int(torch.tensor(sizes).prod())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every parameter; the entity / relation tables return to their inits."""
        with torch.no_grad():
            self.entity_emb.weight.copy_(self._entity_init)
            self.relation_emb.weight.copy_(self._relation_init)
        for module in (self.entity_proj, self.relation_proj, self.atom_encoder, self.bond_encoder,
                       self.project[0], self.conv, self.gru, self.readout):
            if module is not None:
                module.reset_parameters()

    # ------------------------------------------------------------------ inputs
    def _node_inputs(self, data) -> Tensor:
        x = data.x
        atoms = self.atom_encoder(x)
        node_type = getattr(data, "node_type", None)
        if node_type is None:
            return atoms
        entity = self.entity_emb(data.kg_entity)
        if self.entity_proj is not None:
            entity = self.entity_proj(entity)
        return torch.where((node_type == 1).unsqueeze(-1), entity, atoms)

    def _edge_inputs(self, data) -> Tuple[Tensor, Tensor, Tensor]:
        """``(edge_type [E], table [U, edge_channels], index [E])``: one embedding row per bond
        category / relation present."""
        E = data.edge_index.shape[1]
        device = data.edge_index.device
        edge_type = getattr(data, "edge_type", None)
        if edge_type is None:
            edge_type = torch.zeros(E, dtype=torch.long, device=device)
        cols = data.edge_attr[:, list(self.bond_encoder.columns)]
        code = (cols * self._bond_radix).sum(-1)
        is_kg = edge_type == 1
        if bool(is_kg.any()):
            code = torch.where(is_kg, self._num_bond_codes + data.kg_relation, code)
        codes, index = torch.unique(code, return_inverse=True)
        is_bond = codes < self._num_bond_codes
        bond_codes, rel = codes[is_bond], codes[~is_bond] - self._num_bond_codes
        digits = bond_codes.unsqueeze(-1) // self._bond_radix % self._bond_sizes
        full = torch.zeros(bond_codes.numel(), len(self.bond_encoder.feature_sizes), dtype=torch.long,
                           device=device)
        full[:, list(self.bond_encoder.columns)] = digits
        relations = self.relation_emb(rel)
        if self.relation_proj is not None:
            relations = self.relation_proj(relations)
        table = torch.cat([self.bond_encoder(full), relations], dim=0)  # codes sorted: bonds first
        return edge_type, table, index

    # ------------------------------------------------------------------ forward
    def node_embeddings(self, data) -> Tensor:
        """Node states after the last step, :math:`(N, \\text{hidden\\_channels})` (atoms and
        attribute nodes)."""
        h = self.project(self._node_inputs(data))
        edge_type, table, index = self._edge_inputs(data)
        hidden = h.unsqueeze(0)
        for _ in range(self.num_steps):
            m = F.relu(self.conv(h, data.edge_index, edge_type=edge_type, edge_attr=table,
                                 edge_attr_index=index))
            h, hidden = self.gru(m.unsqueeze(0), hidden)
            h = h.squeeze(0)
        return h

    def forward(self, data) -> Tensor:
        """Graph embeddings :math:`(B, \\text{out\\_channels})` of a batch (or of one graph)."""
        return read_out(self.readout, self.node_embeddings(data), data)

    def extra_repr(self) -> str:
        return (f"num_entities={self.num_entities}, num_relations={self.num_relations}, "
                f"hidden_channels={self.hidden_channels}, num_steps={self.num_steps}, "
                f"out_channels={self.out_channels}")
