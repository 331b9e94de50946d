r"""PamC clustering: an encoder pretrained as an autoencoder, DEC self-training and the meta-node contrastive loss."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from ..eval.kmeans import KMEANS_BACKENDS, kmeans_fit
from ..losses.pamc import influence_contrastive_loss, pamc_graph, pamc_loss
from ..nn import GCNEncoder, LowPassFilter
from .base import Method, get_method, load_preset_file, register_method
from .config import resolve_config
from .dec import dec_kl, soft_assignment, target_distribution

__all__ = ["PamC", "PamCNet", "CONTRASTS", "ENCODERS", "KMEANS_BACKENDS", "PRETRAINERS"]

_DEFAULTS, _PRESETS = load_preset_file("pamc")

#: ``contrast``: the PamC loss with hard or soft meta-nodes, or the dense N x N loss it approximates (SCGC*).
CONTRASTS = ("hard", "soft", "dense")
#: ``encoder``: the reference MLP (SDCN autoencoder's encoder) or a GCN from the shared backbone.
ENCODERS = ("mlp", "gcn")
#: ``kmeans_backend``: where the centres' k-means initialisation runs.
#: ``pretrain``: the reconstruction autoencoder (SDCN/the reference) or a contrastive method of this package at its
#: preset for the dataset, whose GCN encoder PamC then fine-tunes (the Dink-Net recipe: contrastive start, then
#: clustering).
PRETRAINERS = ("autoencoder", "grace", "csgcl", "ggd")


def _mlp(dims: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last), as SDCN's autoencoder halves."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class PamCNet(nn.Module):
    r"""Encoder, reconstruction decoder and learnable cluster centres :math:`\mu` of PamC.

    ``encoder="mlp"``: :math:`n_{in}` - hidden... - :math:`d_z` (reference: 500-500-2000-10, ReLU, linear output);
    ``encoder="gcn"``: a :class:`~graphcl.nn.GCNEncoder` (no activation on the output). The decoder mirrors the
    hidden widths back to :math:`n_{in}` and is only used in pretraining.

    Args:
        in_channels (int): :math:`n_{in}`.
        num_clusters (int): :math:`K`.
        encoder (str, optional): ``"mlp"`` or ``"gcn"``. (default: :obj:`"mlp"`)
        hidden (list of int, optional): hidden widths. (default: :obj:`[500, 500, 2000]`)
        embedding_dim (int, optional): :math:`d_z`. (default: :obj:`10`)
        activation (str, optional): GCN activation. (default: :obj:`"relu"`)
        encoder_module (nn.Module, optional): use this graph encoder (``encoder="gcn"``; e.g. a contrastive
            method's) instead of building one; ``embedding_dim`` must be its output width and there is no decoder.
            (default: :obj:`None`)
    """

    def __init__(self, in_channels: int, num_clusters: int, encoder: str = "mlp",
                 hidden: Sequence[int] = (500, 500, 2000), embedding_dim: int = 10, activation: str = "relu",
                 encoder_module: nn.Module | None = None):
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"Expected 'encoder' to be one of {ENCODERS} (got {encoder!r})")
        hidden = [int(h) for h in hidden]
        if not hidden:
            raise ValueError("Expected at least one hidden width in 'hidden'")
        self.kind = encoder
        if encoder_module is not None:  # a contrastive method's GCN encoder (shared module), no decoder
            if encoder != "gcn":
                raise ValueError("A given encoder module is a graph encoder: it needs encoder='gcn'")
            self.encoder, self.decoder = encoder_module, None
        else:
            if encoder == "mlp":
                self.encoder = _mlp([in_channels, *hidden, embedding_dim])
            else:
                if len(set(hidden)) != 1:
                    raise ValueError(f"encoder='gcn' uses one hidden width for all its layers (got hidden={hidden})")
                self.encoder = GCNEncoder(in_channels, hidden[0], embedding_dim, num_layers=len(hidden) + 1,
                                          activation=activation, act_last=False)
            self.decoder = _mlp([embedding_dim, *reversed(hidden), in_channels])
        self.centers = nn.Parameter(torch.empty(num_clusters, embedding_dim))
        nn.init.xavier_normal_(self.centers)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The embeddings :math:`Z` :math:`(N, d_z)`."""
        return self.encoder(x) if self.kind == "mlp" else self.encoder(x, edge_index)

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters()) + [self.centers]


@register_method
class PamC(Method):
    r"""PamC clustering from `"Efficient block contrastive learning via parameter-free meta-node approximation"
    <https://arxiv.org/abs/2209.14067>`_ (Kulatilleke et al.; code github gayanku/PAMC, built on SCGC/SDCN).

    1. **Pretraining** (inside the method, before the first clustering epoch; part of the checkpointed state):
       encoder + decoder trained as a reconstruction autoencoder,
       :math:`\min \|X - \mathrm{dec}(\mathrm{enc}(X))\|^2` (SDCN: Adam, 30 epochs, mini-batches of 256 nodes;
       the reference downloads SDCN's pretrained weights, which we cannot).
    2. **Centres** :math:`\mu` initialised by k-means on :math:`Z = \mathrm{enc}(X)` (20 restarts).
    3. **Clustering epochs** (full batch), with :math:`Q` the Student-t assignment and :math:`P` its DEC target
       refreshed every ``target_update_interval`` epochs (1: every epoch, as the reference):

       .. math::
           \mathcal{L} = \beta\, \mathrm{KL}(P \,\|\, Q) + \alpha\, \mathcal{L}_{PamC}(Z, W, H)

       with :math:`W` the influence graph :math:`\sum_{r \le R} \hat{A}^r` (:func:`~graphcl.losses.pamc.pamc_graph`)
       and :math:`H` = argmax one-hot of :math:`Q` (``contrast="hard"``), :math:`Q` itself (``"soft"``), or the
       dense :math:`N \times N` loss PamC approximates (``"dense"``, SCGC*).
    4. **Prediction**: :math:`\arg\max_k q_{ik}` of the final epoch (:meth:`predict_clusters`); the reference's
       "maximum over epochs" reporting is not used.

    Hyper-parameters and presets: ``graphcl/methods/presets/pamc.yaml``; details in ``docs/pamc.md``.
    """

    name = "pamc"
    defaults = _DEFAULTS
    presets = _PRESETS

    def __init__(self, data: Data, config: dict[str, Any], device: str | torch.device = "cpu"):
        c = dict(config)
        if c.get("contrast") not in CONTRASTS:
            raise ValueError(f"Expected 'contrast' to be one of {CONTRASTS} (got {c.get('contrast')!r})")
        if c.get("kmeans_backend") not in KMEANS_BACKENDS:
            raise ValueError(f"Expected 'kmeans_backend' to be one of {KMEANS_BACKENDS} "
                             f"(got {c.get('kmeans_backend')!r})")
        if c.get("num_clusters") is None:
            if getattr(data, "y", None) is None:
                raise ValueError("'num_clusters' is required: the dataset has no labels to count classes from")
            c["num_clusters"] = int(data.y.max()) + 1
        if int(c["num_clusters"]) < 2:
            raise ValueError(f"Expected 'num_clusters' >= 2 (got {c['num_clusters']})")
        for key in ("pretrain_epochs", "target_update_interval", "smooth_steps", "smooth_embeddings"):
            if int(c[key]) < (1 if key == "target_update_interval" else 0):
                raise ValueError(f"Invalid '{key}': {c[key]}")
        if c.get("pretrain") not in PRETRAINERS:
            raise ValueError(f"Expected 'pretrain' to be one of {PRETRAINERS} (got {c.get('pretrain')!r})")
        if c["contrast"] == "soft" and c["normalize_embeddings"]:
            warnings.warn("contrast='soft' with normalize_embeddings=True: on unit-norm rows the Student-t assignment "
                          "Q is nearly uniform, so the soft meta-nodes Q^T Z nearly coincide, their negatives stop "
                          "repelling and the clustering collapses (docs/pamc.md); set normalize_embeddings: false",
                          UserWarning, stacklevel=2)
        self.initialised = False
        self._target: Tensor | None = None
        self.pretrainer: Method | None = None
        if c["pretrain"] != "autoencoder":
            if c["encoder"] != "gcn":
                raise ValueError(f"pretrain={c['pretrain']!r} trains a GCN encoder: it needs encoder='gcn' "
                                 f"(got {c['encoder']!r})")
            self.pretrainer = self._build_pretrainer(data, c, device)
            c["embedding_dim"] = int(self.pretrainer.config["num_hidden"])
        super().__init__(data, c, device)
        self.input_filter = LowPassFilter(int(c["smooth_steps"]))
        self.output_filter = LowPassFilter(int(c["smooth_embeddings"]))
        self.x = self.prepare_features()
        self.graph = pamc_graph(self.data.edge_index, self.data.num_nodes, int(c["order"]), bool(c["influence"]))

    @staticmethod
    def _build_pretrainer(data: Data, config: dict[str, Any], device: str | torch.device) -> Method:
        """The contrastive method ``config["pretrain"]`` at its preset of PamC's own preset name (so a graph run
        under another dataset's preset, such as ``cora-adgc`` under ``Cora``, is pretrained as that dataset), else
        at its preset for ``config["dataset"]``, with the keys of ``config["pretrain_config"]`` overriding it, and
        the same seed."""
        method = get_method(config["pretrain"])
        extra = config.get("pretrain_config") or {}
        if not isinstance(extra, dict):
            raise ValueError(f"Expected 'pretrain_config' to be a mapping of {method.name} config keys "
                             f"(got {extra!r})")
        preset = config.get("preset")
        pre_config = resolve_config(method, config.get("dataset") or "",
                                    preset=preset if preset in method.presets else None,
                                    overrides={**extra, "seed": int(config["seed"])})
        return method(data, pre_config, device)

    # ------------------------------------------------------------------ input
    def prepare_features(self) -> Tensor:
        r"""The encoder input: :math:`\tilde{A}^s X` (``smooth_steps`` = s, :math:`\tilde{A} = D^{-1/2}(A + I)
        D^{-1/2}`, a parameter-free low-pass filter as in SGC/AGE; 0 = raw features, the reference), then the row
        normalisation ``normalize_features``. Never written back: ``self.data`` is the caller's object."""
        c = self.config
        # a contrastive pretrainer trained the shared encoder on its own input (e.g. row-normalised features)
        x = (self.data.x if self.pretrainer is None else self.pretrainer.data.x).float()
        x = self.input_filter(x, self.data.edge_index)
        norm = c["normalize_features"]
        if norm in (False, None, "none"):
            return x
        if norm in ("l1", "l2", True):
            return F.normalize(x, p=2 if norm == "l2" else 1, dim=1)
        raise ValueError(f"Expected 'normalize_features' to be one of none, l1, l2 (got {norm!r})")

    # ------------------------------------------------------------------ model
    def build_model(self) -> nn.Module:
        c = self.config
        encoder = None if self.pretrainer is None else self.pretrainer.model["encoder"]
        return PamCNet(self.data.num_features, int(c["num_clusters"]), c["encoder"], c["hidden"],
                       int(c["embedding_dim"]), c["activation"], encoder_module=encoder)

    def build_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.encoder_parameters(), lr=float(self.config["lr"]),
                                weight_decay=float(self.config["weight_decay"]))

    def encode(self) -> Tensor:
        r""":math:`Z` = the encoder's output (through the pretrainer's
        :meth:`~graphcl.methods.base.Method.embedding_readout` when a contrastive method pretrained it), filtered
        :math:`\tilde{A}^t` with ``smooth_embeddings`` = t (a parameter-free propagation of the output, as
        APPNP/SGC; 0 = none, the reference), then L2-normalised rows with ``normalize_embeddings``."""
        z = self.model(self.x, self.data.edge_index)
        if self.pretrainer is not None:
            z = self.pretrainer.embedding_readout(z)
        z = self.output_filter(z, self.data.edge_index)
        return F.normalize(z, dim=1) if self.config["normalize_embeddings"] else z

    # ---------------------------------------------------------- pretraining
    def pretrain(self) -> list[float]:
        """Pretraining (``pretrain``: the reconstruction autoencoder, or the contrastive method's own epochs on the
        shared encoder), then k-means initialisation of the centres. Returns the loss of every pretraining epoch."""
        if self.pretrainer is not None:
            epochs = int(self.pretrainer.config["epochs"])
            history = [self.pretrainer.train_epoch(epoch) for epoch in range(1, epochs + 1)]  # loop over epochs
        else:
            history = self._pretrain_autoencoder()
        self.pretrain_history = history
        self._init_centers()
        return history

    def _pretrain_autoencoder(self) -> list[float]:
        """Reconstruction MSE of encoder + decoder; the mean loss of every epoch."""
        c = self.config
        net = self.model
        params = list(net.encoder.parameters()) + list(net.decoder.parameters())
        opt = torch.optim.Adam(params, lr=float(c["pretrain_lr"]))
        n = self.x.size(0)
        batch = int(c["pretrain_batch_size"]) if net.kind == "mlp" and c["pretrain_batch_size"] else n
        history = []
        net.train()
        for _ in range(int(c["pretrain_epochs"])):
            perm = torch.randperm(n, generator=self.generator, device=self.device) if batch < n else None
            total = 0.0
            for start in range(0, n, batch):  # loop over mini-batches, not nodes
                if perm is None:
                    x_bar = net.decoder(self.encode())
                    target = self.x
                else:
                    idx = perm[start:start + batch]
                    target = self.x[idx]
                    x_bar = net.decoder(net.encoder(target))
                loss = F.mse_loss(x_bar, target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * target.size(0)
            history.append(total / n)
        return history

    def _init_centers(self) -> None:
        r"""Centres :math:`\mu` = k-means centres of the pretrained embeddings."""
        c = self.config
        with torch.no_grad():
            self.model.eval()
            z = self.encode()
        centers = torch.from_numpy(kmeans_fit(z, int(c["num_clusters"]), int(c["seed"]), int(c["kmeans_n_init"]),
                                              c["kmeans_backend"]).centers)
        with torch.no_grad():
            self.model.centers.copy_(centers.to(self.model.centers.device))
        self.initialised = True

    def _ensure_initialised(self) -> None:
        if not self.initialised:
            self.pretrain()

    # ------------------------------------------------------------- training
    def train_epoch(self, epoch: int) -> float:
        self._ensure_initialised()
        return super().train_epoch(epoch)

    def training_step(self, epoch: int) -> Tensor:
        c = self.config
        z = self.encode()
        q = soft_assignment(z, self.model.centers, float(c["v"]))
        if self._target is None or (epoch - 1) % int(c["target_update_interval"]) == 0:
            self._target = target_distribution(q.detach())
        kl = dec_kl(q, self._target)
        edge_index, edge_weight = self.graph
        if c["contrast"] == "dense":
            contrast = influence_contrastive_loss(z, edge_index, edge_weight, float(c["tau"]))
        else:
            assignment = q if c["contrast"] == "soft" else q.detach().argmax(dim=1)
            contrast = pamc_loss(z, edge_index, assignment, edge_weight, int(c["num_clusters"]), float(c["tau"]),
                                 mode=c["contrast"])
        self.last_terms = {"kl": float(kl.detach()), "contrast": float(contrast.detach())}
        return float(c["beta"]) * kl + float(c["alpha"]) * contrast

    # ----------------------------------------------------------- inference
    @torch.no_grad()
    def embed(self) -> Tensor:
        with torch.enable_grad():  # a model never trained (epochs 0) pretrains here
            self._ensure_initialised()
        self.model.eval()
        return self.encode()

    @torch.no_grad()
    def soft_assignment(self) -> Tensor:
        """:math:`Q` :math:`(N, K)` of the current model."""
        z = self.embed()
        return soft_assignment(z, self.model.centers, float(self.config["v"]))

    @torch.no_grad()
    def predict_clusters(self) -> Tensor:
        """:math:`\\arg\\max_k q_{ik}` of the current (final-epoch) model."""
        return self.soft_assignment().argmax(dim=1).cpu()

    # ---------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["initialised"] = self.initialised
        state["target"] = None if self._target is None else self._target.cpu()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.initialised = bool(state.get("initialised", True))
        target = state.get("target")
        self._target = None if target is None else target.to(self.device)
