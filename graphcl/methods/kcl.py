"""KCL: contrast a molecule with its chemical-element-knowledge-augmented view."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from ..augment.element_knowledge import ElementKnowledgeAugment
from ..molecules.element_kg import ElementKG, build_element_kg
from ..molecules.kg_embedding import train_kg_embedding
from ..nn import KMPNNEncoder, MoleculeEncoder, ProjectionHead
from .base import load_preset_file
from .molecule_base import PRETRAIN_COMMON_DEFAULTS, MoleculePretrainMethod, register_pretrain_method

_DEFAULTS, _PRESETS = load_preset_file("kcl")


@register_pretrain_method
class KCL(MoleculePretrainMethod):
    r"""KCL from `"Molecular Contrastive Learning with Chemical Element Knowledge Graph"
    <https://arxiv.org/abs/2112.00544>`_ (Fang et al., AAAI 2022).

    Each molecule :math:`G` is seen twice: as it is, encoded by a GCN :math:`f` with a weighted-sum-and-max readout,
    and augmented with the chemical-element knowledge graph, :math:`G' = \mathrm{KG}(G)` (one node per attribute of
    each element present, linked to its atoms by typed edges: :class:`graphcl.augment.ElementKnowledgeAugment`),
    encoded by KMPNN :math:`f'` (edge-conditioned messages with separate edge networks and per-type attention for
    bond and KG edges, a GRU update, Set2Set readout: :class:`graphcl.nn.KMPNNEncoder`). A shared projector
    :math:`g` (``in -> in/2 -> in``, ReLU) gives :math:`z_i = g(f(G_i))`, :math:`z'_i = g(f'(G'_i))` and the loss is
    NT-Xent over the :math:`2B` samples of a batch,

    .. math::
        \mathcal{L} = \frac{1}{2B}\sum_{i=1}^{B} \big(\ell(z_i, z'_i) + \ell(z'_i, z_i)\big),\quad
        \ell(z_i, z'_i) = -\log\frac{e^{s(z_i, z'_i)/\tau}}{\sum_{k \ne i} e^{s(z_i, z_k)/\tau}
        + \sum_{k} e^{s(z_i, z'_k)/\tau}}

    with :math:`s` the cosine similarity and :math:`\tau` the temperature as given (the reference multiplies the
    similarities by 20 whatever :math:`\tau` is). The attribute nodes and relations start from a KG embedding of
    the element KG (RotatE by default, :func:`graphcl.molecules.train_kg_embedding`). Both encoders serve downstream
    tasks: ``"kmpnn"`` (on the augmented molecule) and ``"gcn"`` (on the molecule as it is). Unlike the reference,
    the readouts are trained with the encoders. Hyper-parameters: ``graphcl/methods/presets/kcl.yaml``.
    """

    name = "kcl"
    defaults = {**PRETRAIN_COMMON_DEFAULTS, **_DEFAULTS}
    presets = _PRESETS
    encoder_names = ("kmpnn", "gcn")

    def __init__(self, molecules: Sequence[Data], config: dict[str, Any], device: str | torch.device = "cpu",
                 initialise: bool = True):
        self.kg: ElementKG = build_element_kg()
        self.augment = ElementKnowledgeAugment(self.kg, bidirectional=bool(config["kg_bidirectional"]))
        super().__init__(molecules, config, device, initialise)

    def _kg_init(self) -> tuple[Tensor, Tensor]:
        """Entity and relation embeddings of the element KG (RotatE relations are phases: half the width)."""
        if not self.initialise:  # the weights come from a checkpoint: only the shapes matter
            dim = int(self.config["kg_embedding_dim"])
            rel_dim = dim // 2 if self.config["kg_embedding"] == "rotate" else dim
            return torch.zeros(self.kg.num_entities, dim), torch.zeros(self.kg.num_relations, rel_dim)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # ~1,500 triples: tiny operations, 10x slower on two busy threads than on one
        try:
            return train_kg_embedding(self.kg, model=self.config["kg_embedding"],
                                      dim=int(self.config["kg_embedding_dim"]),
                                      epochs=int(self.config["kg_embedding_epochs"]), seed=int(self.config["seed"]))
        finally:
            torch.set_num_threads(threads)

    def build_model(self) -> nn.Module:
        entity_init, relation_init = self._kg_init()
        original = MoleculeEncoder(**self.config["original_encoder"])
        augmented = KMPNNEncoder(self.kg.num_entities, self.kg.num_relations, entity_init=entity_init,
                                 relation_init=relation_init, **self.config["augmented_encoder"])
        width = original.out_channels
        if augmented.out_channels != width:
            raise ValueError(f"KCL shares one projector between the views: the encoders' outputs must have one width "
                             f"(original_encoder gives {width}, augmented_encoder {augmented.out_channels})")
        projector = ProjectionHead(width, width // 2, width, activation="relu")
        return nn.ModuleDict({"original": original, "augmented": augmented, "projector": projector})

    def prepare(self, data: Data, encoder: str) -> Data:
        return self.augment(data) if encoder == "kmpnn" else data

    def encode_views(self, molecules: list[Data]) -> tuple[Tensor, Tensor]:
        original = self.collate(molecules)
        augmented = self.collate([self.augment(m) for m in molecules])
        project = self.model["projector"]
        return project(self.model["original"](original)), project(self.model["augmented"](augmented))

    def downstream_encoders(self) -> dict[str, nn.Module]:
        return {"kmpnn": self.model["augmented"], "gcn": self.model["original"]}
