"""The GraphCL / MolCLR baseline for molecules: two randomly augmented views, one GIN encoder, NT-Xent."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import Compose

from ..augment.atom_masking import AtomMasking
from ..augment.bond_deletion import BondDeletion
from ..augment.subgraph_removal import SubgraphRemoval
from ..nn import MoleculeEncoder, ProjectionHead
from .base import load_preset_file
from .molecule_base import PRETRAIN_COMMON_DEFAULTS, MoleculePretrainMethod, register_pretrain_method

_DEFAULTS, _PRESETS = load_preset_file("graphcl-mol")
VIEWS = ("mask_delete", "subgraph", "random")


@register_pretrain_method
class GraphCLMol(MoleculePretrainMethod):
    r"""Graph contrastive pretraining of molecules with the augmentations of GraphCL
    (`You et al., NeurIPS 2020 <https://arxiv.org/abs/2010.13902>`_) and MolCLR
    (`Wang et al., Nature Machine Intelligence 2022 <https://arxiv.org/abs/2102.10056>`_).

    Two views :math:`t_1(G), t_2(G)` of each molecule are drawn independently: ``views: mask_delete`` masks a
    fraction :math:`p` of the atoms and deletes a fraction :math:`p` of the bonds (MolCLR), ``subgraph`` removes a
    connected subgraph of about :math:`p` of the atoms (MolCLR), ``random`` applies one of the three (GraphCL's
    random choice). A GIN encoder :math:`f` with mean pooling and a projection head :math:`g` give
    :math:`z_i = g(f(t_1(G_i)))`, :math:`z'_i = g(f(t_2(G_i)))`, and the loss is NT-Xent over the :math:`2B`
    samples of the batch (as :class:`~graphcl.methods.KCL`). The encoder ``"gin"`` serves downstream tasks.
    Hyper-parameters: ``graphcl/methods/presets/graphcl-mol.yaml``.
    """

    name = "graphcl-mol"
    defaults = {**PRETRAIN_COMMON_DEFAULTS, **_DEFAULTS}
    presets = _PRESETS
    encoder_names = ("gin",)

    def __init__(self, molecules: Sequence[Data], config: dict[str, Any], device: str | torch.device = "cpu",
                 initialise: bool = True):
        super().__init__(molecules, config, device, initialise)
        self.view = self.build_view()

    def build_view(self) -> Callable[[Data], Data]:
        """The augmentation that ``views`` names: a new view of one molecule per call, with the molecule's keys.

        Subgraph removal adds ``n_id`` (the kept atoms' original indices) and ``num_nodes`` when it removes atoms (not
        in a molecule too small to lose one); atom masking and bond deletion add nothing. The encoder reads neither,
        and views with and without them do not collate into one batch, so every view keeps only its molecule's keys.
        """
        augment = self._build_augmentation()
        return lambda data: _with_keys_of(data, augment(data))

    def _build_augmentation(self) -> Callable[[Data], Data]:
        kind, p, gen = self.config["views"], float(self.config["aug_ratio"]), self.generator
        if kind == "mask_delete":
            return Compose([AtomMasking(p, generator=gen), BondDeletion(p, generator=gen)])
        if kind == "subgraph":
            return SubgraphRemoval(p, generator=gen)
        if kind == "random":  # one of the three per view, drawn from the run's generator (checkpointed)
            choices = [AtomMasking(p, generator=gen), BondDeletion(p, generator=gen), SubgraphRemoval(p, generator=gen)]
            return lambda data: choices[int(torch.randint(len(choices), (1,), generator=gen))](data)
        raise ValueError(f"Expected 'views' to be one of {VIEWS} (got {kind!r})")

    def build_model(self) -> nn.Module:
        encoder = MoleculeEncoder(**self.config["encoder"])
        width = encoder.out_channels
        return nn.ModuleDict({"encoder": encoder,
                              "projector": ProjectionHead(width, width, int(self.config["projection_channels"]),
                                                          activation="relu")})

    def encode_views(self, molecules: list[Data]) -> tuple[Tensor, Tensor]:
        encode = lambda batch: self.model["projector"](self.model["encoder"](batch))  # noqa: E731
        return (encode(self.collate([self.view(m) for m in molecules])),
                encode(self.collate([self.view(m) for m in molecules])))

    def downstream_encoders(self) -> dict[str, nn.Module]:
        return {"gin": self.model["encoder"]}


def _with_keys_of(molecule: Data, view: Data) -> Data:
    """``view`` without the keys that ``molecule`` lacks (``view`` is the augmenter's own shallow copy of
    ``molecule``, so ``molecule`` keeps its keys)."""
    for key in set(view.keys()) - set(molecule.keys()):
        del view[key]
    return view
