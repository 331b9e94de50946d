"""GGD: group discrimination between an augmented graph and its feature-shuffled corruption."""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import NormalizeFeatures

from ..augment import FeatureMasking
from ..losses import GroupDiscriminationLoss
from ..nn import GCNEncoder, LowPassFilter
from .base import Method, load_preset_file, register_method
from .minibatch import MiniBatchTraining
from .pot import POTRegulariser, pot_defaults
from .sparse_features import with_sparse_features

_DEFAULTS, _PRESETS = load_preset_file("ggd")


@register_method
class GGD(Method):
    r"""GGD from `"Rethinking and Scaling Up Graph Contrastive Learning: An Extremely Efficient Approach with Group
    Discrimination" <https://arxiv.org/abs/2206.01535>`_ (Zheng et al., NeurIPS 2022).

    A GCN encoder :math:`f` (one layer, PReLU, in the reference) and a linear projector :math:`g` see the graph with
    feature columns masked (rate ``drop_feature_rate``), :math:`\tilde{G}`, and its corruption :math:`\tilde{G}^-`
    with the node features shuffled. Each node's projection is summed to a logit and the two groups are told apart
    by binary cross-entropy (:class:`~graphcl.losses.GroupDiscriminationLoss`):

    .. math::
        s_i = \sum_d g(f(\tilde{G}))_{id},\quad \tilde{s}_i = \sum_d g(f(\tilde{G}^-))_{id},\quad
        \mathcal{L} = -\frac{1}{2N}\sum_i \big(\log \sigma(s_i) + \log(1 - \sigma(\tilde{s}_i))\big)

    Shuffling the features by a permutation :math:`\pi` gives the same group of rows as relabelling the graph's
    nodes by :math:`\pi` (:math:`f(X_{\pi}, A) = P_{\pi}^{-1} f(X, P_\pi A P_\pi^\top)`, and the loss sums over the
    group), so the corruption relabels ``edge_index`` and the features stay as they are (sparse, on the CPU fast
    path). Embeddings are the local plus the global view, :math:`H + \tilde{A}^K H` with :math:`H = f(G)` on the
    clean graph and :math:`\tilde{A}` the GCN-normalised adjacency (``power`` = K;
    :meth:`embedding_readout`). Hyper-parameters and presets: ``graphcl/methods/presets/ggd.yaml``.

    With ``pot: true`` (``docs/pot.md``) the loss becomes :math:`(1 - \kappa)\mathcal{L} + \kappa
    \mathcal{L}_{POT}`: GGD drops no edges, so the certified set is every graph that loses up to the rounded
    ``pot_drop_rate`` share of each node's edges, and a node's compactness is measured between the masked view's
    encoder output and the clean graph's.

    With ``batch_size`` set it trains on mini-batches of sampled subgraphs (:mod:`graphcl.methods.minibatch`): the
    corruption relabels each subgraph's nodes and the loss is taken on its seed nodes; embeddings stay full-graph.
    """

    name = "ggd"
    defaults = {**_DEFAULTS, **pot_defaults(kappa=0.4, bound="view"),  # one layer: no POT-code score
                "pot_drop_rate": 0.2}  # (float) POT only: the edge-drop rate whose allowed graphs POT certifies
    presets = _PRESETS

    def __init__(self, data: Data, config: dict[str, Any], device: str | torch.device = "cpu"):
        for key in ("num_layers", "num_proj_layers"):
            if int(config[key]) < 1:
                raise ValueError(f"Expected '{key}' >= 1 (got {config[key]})")
        if int(config["power"]) < 0:
            raise ValueError(f"Expected 'power' >= 0 (got {config['power']})")
        if config["normalize_features"]:
            data = NormalizeFeatures()(copy.copy(data))  # on a shallow copy: the caller's Data keeps its features
        super().__init__(data, config, device)
        self.mask_features = FeatureMasking(float(self.config["drop_feature_rate"]), generator=self.generator)
        self.loss = GroupDiscriminationLoss()
        self.global_view = LowPassFilter(int(self.config["power"]))
        self.train_data = with_sparse_features(self.data, self.model["encoder"], [self.mask_features])
        self.minibatch = MiniBatchTraining.of(self, int(self.config["num_layers"]))
        self.pot = POTRegulariser(self.config, self.model["encoder"], self.train_data.edge_index,
                                  self.data.num_nodes, [float(self.config["pot_drop_rate"])], self.generator
                                  ) if self.config["pot"] else None

    def build_model(self) -> nn.Module:
        c = self.config
        h = int(c["num_hidden"])
        encoder = GCNEncoder(self.data.num_features, h, h, num_layers=int(c["num_layers"]),
                             activation=c["activation"])
        projector = nn.Sequential(*[nn.Linear(h, h) for _ in range(int(c["num_proj_layers"]))])
        return nn.ModuleDict({"encoder": encoder, "projector": projector})

    def augment(self, graph: Data) -> list[Data]:
        """The masked view of ``graph`` and its corruption (the same view with its nodes relabelled at random: its
        encoder output is the shuffled features' rows, reordered)."""
        view = self.mask_features(graph)
        perm = torch.randperm(view.num_nodes, generator=self.generator, device=self.device)
        corrupted = copy.copy(view)
        corrupted.edge_index = perm[view.edge_index]
        return [view, corrupted]

    def encode(self, view: Data) -> Tensor:
        """The encoder's output for every node of a view; for a view trimmed to a mini-batch's seeds
        (``num_sampled_nodes``, :func:`graphcl.methods.minibatch.trim_to_seeds`), for the seeds only."""
        return self.model["encoder"](view.x, view.edge_index, num_sampled_nodes=view.get("num_sampled_nodes"))

    def objective(self, outputs: list[Tensor], nodes: Tensor | None, epoch: int) -> Tensor:
        """Group discrimination of the view's and the corruption's encoder outputs (at ``nodes``; any subset)."""
        projector = self.model["projector"]
        return self.loss(projector(outputs[0]), projector(outputs[1]))

    def training_step(self, epoch: int) -> Tensor:
        view, corrupted = self.augment(self.train_data)
        loss = self.objective([self.encode(view), self.encode(corrupted)], None, epoch)
        if self.pot is None:
            return loss
        return self.pot(loss, [view], [self.encode(self.train_data)])

    def embedding_readout(self, h: Tensor) -> Tensor:
        r""":math:`H + \tilde{A}^K H`: the encoder output plus its ``power``-hop propagation (GGD's local and global
        embeddings)."""
        return h + self.global_view(h, self.data.edge_index)

    @torch.no_grad()
    def embed(self) -> Tensor:
        self.model.eval()
        return self.embedding_readout(self.model["encoder"](self.data.x, self.data.edge_index))
