"""The method interface shared by every self-supervised graph method, and the method registry."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import yaml
from torch import Tensor, nn
from torch_geometric.data import Data

from ..train.loop import nonfinite_loss_message

if TYPE_CHECKING:
    from .minibatch import MiniBatchTraining

_PRESET_DIR = Path(__file__).with_name("presets")
METHODS: dict[str, type["Method"]] = {}


def register_method(cls: type["Method"]) -> type["Method"]:
    """Class decorator: make a method available to ``graphcl train NAME``."""
    METHODS[cls.name] = cls
    return cls


def get_method(name: str) -> type["Method"]:
    """Look a method up by name; unknown names list the valid ones."""
    key = name.lower()
    if key not in METHODS:
        raise ValueError(f"Unknown method '{name}'. Valid methods: {', '.join(sorted(METHODS))}")
    return METHODS[key]


def load_preset_file(name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Read ``presets/<name>.yaml``: the method's defaults and its per-dataset presets."""
    spec = yaml.safe_load((_PRESET_DIR / f"{name}.yaml").read_text())
    return dict(spec["defaults"]), {k: dict(v) for k, v in (spec.get("presets") or {}).items()}


class Method(ABC):
    """A self-supervised graph method: built from a resolved config, trained one epoch at a time, then embeds.

    Subclasses set ``name``, read their defaults and presets from ``presets/<name>.yaml`` (every hyper-parameter with
    a comment), and implement :meth:`build_model`, :meth:`training_step` and :meth:`embed`. The training loop
    (:func:`graphcl.train.fit`) owns epochs, checkpoints and resume; the method owns the model, the optimiser and a
    ``torch.Generator`` from which all its augmentation randomness is drawn (checkpointed, so a resumed run continues
    the same random stream).

    A node method that supports mini-batch training (GRACE, CSGCL, GGD: ``batch_size`` in its config) sets
    :attr:`minibatch` (:class:`~graphcl.methods.minibatch.MiniBatchTraining`); :meth:`train_epoch` then takes one
    step per batch of sampled subgraphs instead of one full-graph step.
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Mini-batch epochs (a :class:`~graphcl.methods.minibatch.MiniBatchTraining`), or ``None``: full batch.
    minibatch: "MiniBatchTraining | None" = None

    def __init__(self, data: Data, config: dict[str, Any], device: str | torch.device = "cpu"):
        self.config = dict(config)
        self.device = torch.device(device)
        self.data = data.to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(int(self.config["seed"]))
        torch.manual_seed(int(self.config["seed"]))
        self.model = self.build_model().to(self.device)
        self.optimizer = self.build_optimizer()

    @abstractmethod
    def build_model(self) -> nn.Module:
        """Create the trainable modules from ``self.config`` and ``self.data``."""

    def build_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=float(self.config["lr"]),
                                weight_decay=float(self.config["weight_decay"]))

    @abstractmethod
    def training_step(self, epoch: int) -> Tensor:
        """The loss of one epoch (graph-level methods: one full-graph step)."""

    def train_epoch(self, epoch: int) -> float:
        """One epoch: one full-graph step, or one step per mini-batch when :attr:`minibatch` is set; the loss."""
        if self.minibatch is not None:
            return self.minibatch.train_epoch(epoch)
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.training_step(epoch)
        if not torch.isfinite(loss):
            raise FloatingPointError(nonfinite_loss_message(self, epoch))
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    @abstractmethod
    @torch.no_grad()
    def embed(self) -> Tensor:
        """Frozen node embeddings, row i = node i."""

    def embedding_readout(self, h: Tensor) -> Tensor:
        """The parameter-free map from the encoder's output to the embeddings (identity here; GGD adds a propagated
        copy). A method that fine-tunes this method's encoder (PamC's contrastive pretraining) applies it too."""
        return h

    def predict_clusters(self) -> Tensor | None:
        """Cluster assignments when the method clusters by itself (else None: evaluation runs k-means)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
