"""GRACE: two augmented views, a shared GCN encoder, a projection head and the two-view InfoNCE loss."""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import NormalizeFeatures

from ..augment import EdgeRemoving, FeatureMasking
from ..losses import InfoNCELoss
from ..nn import GCNEncoder, ProjectionHead
from .base import Method, load_preset_file, register_method
from .minibatch import MiniBatchTraining
from .pot import POTRegulariser, pot_defaults
from .sparse_features import with_sparse_features

_DEFAULTS, _PRESETS = load_preset_file("grace")


@register_method
class GRACE(Method):
    r"""GRACE from `"Deep Graph Contrastive Representation Learning" <https://arxiv.org/abs/2006.04131>`_
    (Zhu et al., 2020).

    Two views :math:`G_1, G_2` are drawn by edge removing (:math:`p_{e,1}, p_{e,2}`) and feature masking
    (:math:`p_{f,1}, p_{f,2}`); a shared 2-layer GCN :math:`f` and a projection head :math:`g` (2-layer MLP, ELU)
    give :math:`u_i = g(f(G_1))_i`, :math:`v_i = g(f(G_2))_i`, and the loss is

    .. math::
        \mathcal{L} = \frac{1}{2N}\sum_i \big(\ell(u_i, v_i) + \ell(v_i, u_i)\big),\quad
        \ell(u_i, v_i) = -\log \frac{e^{s(u_i,v_i)/\tau}}{e^{s(u_i,v_i)/\tau} + \sum_{k\ne i} e^{s(u_i,v_k)/\tau}
        + \sum_{k\ne i} e^{s(u_i,u_k)/\tau}}

    with :math:`s` the cosine similarity. Embeddings for evaluation are :math:`f(G)` on the clean graph. With
    ``normalize_features`` (set by the presets of the authors' datasets, as their loaders do) the features are first
    row-normalised by PyG's :class:`~torch_geometric.transforms.NormalizeFeatures`.
    Hyper-parameters and presets: ``graphcl/methods/presets/grace.yaml``. With ``pot: true`` the loss becomes
    :math:`(1 - \kappa)\mathcal{L} + \kappa \mathcal{L}_{POT}` (:class:`~graphcl.methods.pot.POTRegulariser`, each
    view's certified compactness under the edge drops its removal rate allows; ``docs/pot.md``).

    With ``batch_size`` set it trains on mini-batches of sampled subgraphs, the loss on each batch's seed nodes
    (:mod:`graphcl.methods.minibatch`; ``num_neighbors`` in-neighbours per node and hop), also under ``torchrun``.
    """

    name = "grace"
    defaults = {**_DEFAULTS, **pot_defaults(kappa=0.4)}
    presets = _PRESETS

    def __init__(self, data: Data, config: dict[str, Any], device: str | torch.device = "cpu"):
        if config["normalize_features"]:
            data = NormalizeFeatures()(copy.copy(data))  # on a shallow copy: the caller's Data keeps its features
        super().__init__(data, config, device)
        self.views = self.build_views()
        self.loss = self.build_loss()
        # on CPU, bag-of-words features train as a sparse CSR matrix: views mask columns by scaling the stored
        # values and the first layer is a sparse-dense product; embeddings use the dense features
        self.train_data = with_sparse_features(self.data, self.model["encoder"],
                                               [f for view in self.views for f in view])
        self.minibatch = MiniBatchTraining.of(self, int(self.config["num_layers"]))
        self.pot = POTRegulariser(self.config, self.model["encoder"], self.train_data.edge_index,
                                  self.data.num_nodes, self.edge_drop_probabilities(), self.generator
                                  ) if self.config["pot"] else None
        if self.minibatch is not None:
            self.views = self.subgraph_views()

    def build_views(self) -> list[tuple[Callable[[Data], Data], Callable[[Data], Data]]]:
        """(structure augmenter, feature augmenter) for each of the two views."""
        c = self.config
        return [(EdgeRemoving(c[f"drop_edge_rate_{k}"], undirected=c["undirected_drop"], generator=self.generator),
                 FeatureMasking(c[f"drop_feature_rate_{k}"], generator=self.generator))
                for k in (1, 2)]

    def subgraph_views(self) -> list[tuple[Callable[[Data], Data], Callable[[Data], Data]]]:
        """The augmenters of mini-batch mode, applied to sampled subgraphs: GRACE's draw per edge and per feature
        column with fixed rates, so they are the full-graph ones."""
        return self.views

    def edge_drop_probabilities(self) -> list[Tensor | float]:
        """Each view's drop probability of the training graph's edges (one rate, or one per edge): POT's budgets."""
        return [float(self.config[f"drop_edge_rate_{k}"]) for k in (1, 2)]

    def build_loss(self) -> nn.Module:
        return InfoNCELoss(temperature=self.config["tau"], batch_size=self.config["loss_batch_size"])

    def build_model(self) -> nn.Module:
        c = self.config
        encoder = GCNEncoder(self.data.num_features, 2 * c["num_hidden"], c["num_hidden"],
                             num_layers=c["num_layers"], activation=c["activation"])
        projector = ProjectionHead(c["num_hidden"], c["num_proj_hidden"], c["num_hidden"])
        return nn.ModuleDict({"encoder": encoder, "projector": projector})

    def view(self, k: int, graph: Data | None = None) -> Data:
        """The k-th augmented view (0 or 1) of ``graph`` (by default the training graph)."""
        drop_edges, mask_features = self.views[k]
        return mask_features(drop_edges(self.train_data if graph is None else graph))

    def augment(self, graph: Data) -> list[Data]:
        """The two views of ``graph`` (the training graph, or in mini-batch mode a sampled subgraph)."""
        return [self.view(0, graph), self.view(1, graph)]

    def encode(self, view: Data) -> Tensor:
        """The encoder's output for every node of a view; for a view trimmed to a mini-batch's seeds
        (``num_sampled_nodes``, :func:`graphcl.methods.minibatch.trim_to_seeds`), for the seeds only."""
        return self.model["encoder"](view.x, view.edge_index, num_sampled_nodes=view.get("num_sampled_nodes"))

    def project(self, view: Data) -> Tensor:
        """The projection head's output for a view."""
        return self.model["projector"](self.encode(view))

    def contrastive_loss(self, u: Tensor, v: Tensor, epoch: int, nodes: Tensor | None = None) -> Tensor:
        """The method's loss of the two views' projections of ``nodes`` (ids in the graph; ``None``: all)."""
        return self.loss(u, v)

    def objective(self, outputs: list[Tensor], nodes: Tensor | None, epoch: int) -> Tensor:
        """The loss from the two views' encoder outputs at ``nodes`` (``None``: every node)."""
        projector = self.model["projector"]
        return self.contrastive_loss(projector(outputs[0]), projector(outputs[1]), epoch, nodes)

    def training_step(self, epoch: int) -> Tensor:
        views = self.augment(self.train_data)
        h = [self.encode(view) for view in views]
        loss = self.objective(h, None, epoch)
        if self.pot is None:
            return loss
        return self.pot(loss, views, [h[1], h[0]])

    @torch.no_grad()
    def embed(self) -> Tensor:
        self.model.eval()
        return self.model["encoder"](self.data.x, self.data.edge_index)
