"""The interface of molecule pretraining methods (many small graphs, a step per batch) and their registry."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.data import Batch, Data
from tqdm.auto import tqdm

from ..compat.dgl_convert import as_pyg
from ..train.distributed import gather_with_grad, is_distributed, is_main_process, rank, share_sizes, world_size

PRETRAIN_METHODS: dict[str, type["MoleculePretrainMethod"]] = {}


def register_pretrain_method(cls: type["MoleculePretrainMethod"]) -> type["MoleculePretrainMethod"]:
    """Class decorator: make a method available to ``graphcl pretrain NAME``."""
    PRETRAIN_METHODS[cls.name] = cls
    return cls


def get_pretrain_method(name: str) -> type["MoleculePretrainMethod"]:
    """Look a molecule pretraining method up by name; unknown names list the valid ones."""
    key = name.lower()
    if key not in PRETRAIN_METHODS:
        raise ValueError(f"Unknown pretraining method '{name}'. Valid methods: {', '.join(sorted(PRETRAIN_METHODS))}")
    return PRETRAIN_METHODS[key]


# Keys every molecule pretraining method accepts beside its own hyper-parameters.
PRETRAIN_COMMON_DEFAULTS: dict[str, Any] = {
    "seed": 0,              # (int) seed of initialisation, batch order and augmentation randomness
    "epochs": 20,           # (int) passes over the corpus
    "batch_size": 64,       # (int) molecules per step; the other molecules of the batch are the negatives (under
                            #       torchrun: the global batch, split across the processes)
    "lr": 1.0e-4,           # (float) Adam learning rate
    "weight_decay": 0.0,    # (float) Adam weight decay
    "lr_decay": 1.0,        # (float) multiply the learning rate by this every lr_decay_steps optimiser steps
    "lr_decay_steps": 500,  # (int) optimiser steps between two learning-rate decays
    "temperature": 0.1,     # (float) NT-Xent temperature tau (used as given; see docs/molecules.md)
    "hard_negatives": False,  # (bool) batches drawn from Butina clusters of Morgan fingerprints (similar molecules
                              #        share a batch: hard negatives); else a uniform shuffle
    "butina_cutoff": 0.85,  # (float) Butina Tanimoto-distance threshold of the hard-negative clusters
    "checkpoint_every": 1,  # (int) epochs between checkpoints (and at the end)
    "budget_minutes": None,  # (float) stop after the first epoch that ends past this many minutes of training
                             #         (of this invocation; a checkpoint is written there); None: no budget
    "matmul_precision": "highest",  # (str) torch.set_float32_matmul_precision while training
}


class MoleculePretrainMethod(ABC):
    r"""A contrastive pretraining method over a corpus of molecules, trained one epoch (many batches) at a time.

    The training loop :func:`graphcl.train.fit` owns epochs, checkpoints and resume, exactly as for the node methods
    (:class:`graphcl.methods.Method`); the difference is inside :meth:`train_epoch`, which takes one optimiser step
    per batch of ``batch_size`` molecules. Two views of each molecule of a batch are encoded to :math:`z^{(1)},
    z^{(2)}` and the loss is NT-Xent over the :math:`2B` samples of the batch (:func:`graphcl.losses.info_nce`, the
    same function as GRACE's loss), every other sample of the batch being a negative.

    The batch order is drawn from ``order_generator``, a ``torch.Generator`` seeded by ``seed`` (checkpointed: a
    resumed run continues the same stream). With ``hard_negatives`` the corpus is first ordered by Butina clusters
    of Morgan fingerprints (:func:`graphcl.molecules.fingerprints.butina_batch_order`, KCL's hard-negative batches)
    and cut into batches; each epoch shuffles the batches, not the molecules within them. Random views draw from
    ``generator``, reseeded before every step from ``(seed, step, rank)`` (:meth:`seed_views`), so a resumed run
    draws the views the uninterrupted run would have drawn.

    **Several processes** (``torchrun``, a process group from :func:`graphcl.train.distributed.init_from_env`):
    every process holds the corpus and draws the same batch order; each global batch of ``batch_size`` molecules is
    split into one contiguous share per process (:func:`graphcl.train.distributed.share_sizes`: shares differ by at
    most one molecule), each process encodes its share through the model wrapped in
    :class:`~torch.nn.parallel.DistributedDataParallel`, and the projected views of all shares are gathered with
    gradients (:func:`graphcl.train.distributed.gather_with_grad`), so every process computes NT-Xent over the
    whole global batch: the negatives of a molecule are the other :math:`2B - 2` samples of the global batch, as in
    one process. The gather's backward sums the gradients that the :math:`W` processes send to a share and DDP
    averages over the :math:`W` processes, so each optimiser step uses the gradient of the one-process loss over the
    same global batch. Methods with deterministic views (KCL) therefore train as in one process, up to float
    rounding, whatever the number of processes; methods with random views (GraphCL-mol) seed each process's views
    with its rank, so their draws (not their distribution) depend on the number of processes. Batch norms (GIN's)
    use the statistics of the global batch on GPUs (``SyncBatchNorm``); torch has no synchronised batch norm on
    CPUs, where each process normalises its share with its own statistics (DDP's default; rank 0's running
    statistics are kept), so such a model trains close to, not exactly as, one process. A last batch smaller than
    the number of processes is skipped (a process without molecules would have nothing to encode).

    Subclasses set ``name``, ``defaults`` and implement :meth:`build_model`, :meth:`encode_views` (the two
    projected views of a batch), :meth:`downstream_encoders` and :meth:`prepare` (the per-molecule input of a
    downstream encoder).
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    #: the names of :meth:`downstream_encoders`, the default first
    encoder_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, molecules: Sequence[Data], config: dict[str, Any], device: str | torch.device = "cpu",
                 initialise: bool = True):
        self.config = dict(config)
        self.device = torch.device(device)
        self.molecules = [as_pyg(m) for m in molecules]  # PyG Data, or DGL graphs converted
        self.initialise = initialise  # False: the weights come from a checkpoint (skip costly initialisations)
        self.batch_size = int(self.config["batch_size"])
        if self.batch_size < 2:
            raise ValueError(f"Expected 'batch_size' >= 2: the other molecules of a batch are the negatives "
                             f"(got {self.batch_size})")
        if self.batch_size < world_size():
            raise ValueError(f"Expected 'batch_size' >= the number of processes ({world_size()}): it is the global "
                             f"batch, split across them (got {self.batch_size})")
        self.temperature = float(self.config["temperature"])
        if not self.temperature > 0:
            raise ValueError(f"Expected 'temperature' > 0 (got {self.temperature})")
        self.order_generator = torch.Generator().manual_seed(int(self.config["seed"]))  # batch order
        self.generator = torch.Generator().manual_seed(int(self.config["seed"]))  # random views: see seed_views
        torch.manual_seed(int(self.config["seed"]))
        self.model = self.build_model().to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=float(self.config["lr"]),
                                          weight_decay=float(self.config["weight_decay"]))
        self._batches: list[np.ndarray] | None = None  # the hard-negative batches, computed on first use
        self.steps = 0  # optimiser steps so far (the learning-rate decay counts them)
        self.step_losses: list[float] = []  # the loss of every step so far (the pretraining curve)
        self.progress = False  # a progress bar over the batches of each epoch (graphcl pretrain sets it)
        self._views: nn.Module | None = None  # encode_views as a module (DDP-wrapped under a process group)

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def build_model(self) -> nn.Module:
        """The trainable modules (encoders, readouts, projection heads) as one ``nn.ModuleDict``."""

    @abstractmethod
    def encode_views(self, molecules: list[Data]) -> tuple[Tensor, Tensor]:
        """The projected embeddings :math:`(z^{(1)}, z^{(2)})` of two views of the molecules, each ``[B, D]``."""

    @abstractmethod
    def downstream_encoders(self) -> dict[str, nn.Module]:
        """The encoders a downstream task may use, by name, in the order of ``encoder_names``; each maps a
        ``Batch`` of prepared molecules to ``[num_graphs, out_channels]``."""

    def prepare(self, data: Data, encoder: str) -> Data:
        """The input of downstream encoder ``encoder`` for one featurised molecule (identity by default)."""
        return data

    # ------------------------------------------------------------------ training
    def _hard_negative_batches(self) -> list[np.ndarray]:
        """The fixed batches of the Butina order (deterministic per seed, so a resumed run rebuilds the same)."""
        if self._batches is None:
            from ..molecules.fingerprints import butina_batch_order

            order = np.asarray(butina_batch_order([m.smiles for m in self.molecules], self.batch_size,
                                                  cutoff=float(self.config["butina_cutoff"]),
                                                  seed=int(self.config["seed"])))
            self._batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        return self._batches

    def batches(self) -> Iterator[np.ndarray]:
        """The row indices of each global batch of one epoch (advances ``order_generator``; the same on every
        process). A batch of fewer than two molecules (no negative), or of fewer molecules than processes, is
        skipped."""
        n = len(self.molecules)
        if n == 0:
            raise ValueError(f"{self.name}: the pretraining corpus is empty")
        if not self.config["hard_negatives"]:
            perm = torch.randperm(n, generator=self.order_generator).numpy()
            chunks = [perm[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        else:
            plan = self._hard_negative_batches()
            chunks = [plan[i] for i in torch.randperm(len(plan), generator=self.order_generator).tolist()]
        smallest = max(2, world_size())
        for chunk in chunks:
            if len(chunk) >= smallest:
                yield chunk

    def seed_views(self) -> None:
        """Reseed ``generator`` (the random views' stream) for the next step from ``(seed, step, rank)``."""
        entropy = (int(self.config["seed"]) % 2**63, self.steps, rank())
        self.generator.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]))

    def train_epoch(self, epoch: int) -> float:
        """One pass over the corpus, one optimiser step per global batch; returns the mean batch loss.

        Under a process group this process encodes its share of each batch and the loss is NT-Xent over the
        gathered global batch (the class docstring); the loss returned is that global loss, the same on every
        process."""
        from ..losses import info_nce

        self.model.train()
        views = self._view_encoder()
        processes, me = world_size(), rank()
        total, steps = 0.0, 0
        bar = tqdm(self.batches(), desc=f"epoch {epoch}", total=-(-len(self.molecules) // self.batch_size),
                   disable=not self.progress or not is_main_process(), leave=False)
        for chunk in bar:
            sizes = share_sizes(len(chunk), processes)
            start = sum(sizes[:me])
            self.seed_views()
            z1, z2 = views([self.molecules[i] for i in chunk[start:start + sizes[me]]])
            loss = info_nce(gather_with_grad(z1, sizes), gather_with_grad(z2, sizes), temperature=self.temperature)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{self.name}: the loss became {loss.item()} at epoch {epoch}; "
                                         f"lower 'lr' or raise 'temperature'")
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self._decay_learning_rate()
            total += float(loss.detach())
            steps += 1
            self.step_losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{self.step_losses[-1]:.4f}")
        return total / max(steps, 1)

    def _view_encoder(self) -> nn.Module:
        """:meth:`encode_views` as a module over ``model``, wrapped in DistributedDataParallel under a process group
        (built on first use: DDP broadcasts rank 0's weights when it is built). On GPUs the batch norms of ``model``
        become ``SyncBatchNorm`` (statistics of the global batch; same parameters and buffers)."""
        if self._views is None:
            if is_distributed() and self.device.type == "cuda":
                nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self._views = _ViewEncoder(self)
            if is_distributed():
                self._views = DistributedDataParallel(self._views)
        return self._views

    def _decay_learning_rate(self) -> None:
        self.steps += 1
        decay = float(self.config["lr_decay"])
        if decay != 1.0 and self.steps % int(self.config["lr_decay_steps"]) == 0:
            for group in self.optimizer.param_groups:
                group["lr"] *= decay

    def collate(self, molecules: list[Data]) -> Batch:
        return Batch.from_data_list(molecules).to(self.device)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def embed(self, molecules: Sequence[Data], encoder: str | None = None, batch_size: int = 256,
              prepared: bool = False) -> Tensor:
        """Frozen graph embeddings ``[len(molecules), D]`` of downstream encoder ``encoder`` (default: the first);
        ``prepared``: the molecules already went through :meth:`prepare` for that encoder."""
        encoders = self.downstream_encoders()
        name = encoder or next(iter(encoders))
        if name not in encoders:
            raise ValueError(f"Unknown encoder '{name}' for {self.name}. Valid: {', '.join(encoders)}")
        module = encoders[name]
        molecules = [as_pyg(m) for m in molecules]
        self.model.eval()
        out = []
        for i in range(0, len(molecules), batch_size):
            chunk = [m if prepared else self.prepare(m, name) for m in molecules[i:i + batch_size]]
            out.append(module(self.collate(chunk)).float().cpu())
        return torch.cat(out) if out else torch.empty(0, 0)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Weights, optimiser, the batch-order stream (``generator``) and the steps so far: all a resumed run needs
        (the random views are reseeded from the step count, :meth:`seed_views`)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.order_generator.get_state(), "steps": self.steps,
                "step_losses": list(self.step_losses)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; a GIN whose bond embeddings disagree with the config (a run from before
        GIN read bond features, resumed or loaded) is a ``ValueError`` naming the key to set."""
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as err:
            if "bond_encoder" not in str(err):
                raise
            bonds = any("bond_encoder" in key for key in state["model"])
            raise ValueError(f"The checkpoint's GIN has {'' if bonds else 'no '}bond embeddings: set "
                             f"'bond_features: {str(bonds).lower()}' in the encoder of the run's config.yaml (runs "
                             f"from before GIN read bond features have none)") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.order_generator.set_state(state["generator"])
        self.steps = int(state.get("steps", 0))
        self.step_losses = list(state.get("step_losses", []))


class _ViewEncoder(nn.Module):
    """A method's :meth:`~MoleculePretrainMethod.encode_views` as the ``forward`` of a module holding its model: what
    DistributedDataParallel wraps (DDP synchronises gradients of what runs through its own ``forward``)."""

    def __init__(self, method: MoleculePretrainMethod):
        super().__init__()
        self.model = method.model
        self.encode_views = method.encode_views

    def forward(self, molecules: list[Data]) -> tuple[Tensor, Tensor]:
        return self.encode_views(molecules)
