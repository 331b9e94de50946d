"""CSGCL: GRACE with community-aware views (CED, CAV) and the Team-up loss."""
from __future__ import annotations


from torch import Tensor
from torch_geometric.data import Data

from ..augment import CommunalAttributeVoting, CommunalEdgeDropping, CommunityInfo, community_info
from ..losses import TeamUpLoss
from .base import load_preset_file, register_method
from .grace import GRACE
from .pot import pot_defaults

_DEFAULTS, _PRESETS = load_preset_file("csgcl")


@register_method
class CSGCL(GRACE):
    r"""CSGCL from `"Community-Strength-enhanced Graph Contrastive Learning"
    <https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

    GRACE (same encoder, projection head and evaluation) with three changes driven by the communities of the
    training graph (Leiden by default, detected once) and their strengths
    :math:`S_c = E_{in}(c)/|E| - (\deg(c)/2|E|)^2`:

    * views by Communal Edge Dropping (:class:`~graphcl.augment.CommunalEdgeDropping`, rates
      ``drop_edge_rate_k``) and Communal Attribute Voting (:class:`~graphcl.augment.CommunalAttributeVoting`,
      rates ``drop_feature_rate_k``);
    * the Team-up loss (:class:`~graphcl.losses.TeamUpLoss`) on :math:`s'_{ij} = \cos(h_i, h_j) +
      \gamma_t (S_i + S_j)`, :math:`\gamma_t = \min(\max(0, (t - t_0)/100), \gamma_{max})`, i.e. plain InfoNCE
      until epoch ``t0``.

    Hyper-parameters and presets (published: WikiCS, Computers, Photo, CS; ours: Cora, CiteSeer, PubMed):
    ``graphcl/methods/presets/csgcl.yaml``. In mini-batch mode (``batch_size``) the communities, strengths, CED's
    edge and CAV's attribute probabilities are the full graph's, carried to each sampled subgraph by edge id, and
    the Team-up loss sees the seeds' strengths.
    """

    name = "csgcl"
    defaults = {**_DEFAULTS, **pot_defaults(kappa=0.3)}
    presets = _PRESETS

    def build_views(self) -> list[tuple[CommunalEdgeDropping, CommunalAttributeVoting]]:
        """CED and CAV views; the communities and their strengths are detected here, once per graph."""
        c = self.config
        self.communities: CommunityInfo = community_info(
            self.data.edge_index, self.data.num_nodes, c["community_method"], int(c["community_seed"])
        ).to(self.device)
        return [(CommunalEdgeDropping(c[f"drop_edge_rate_{k}"], threshold=c["drop_edge_thresh"],
                                      undirected=c["undirected_drop"], communities=self.communities,
                                      generator=self.generator),
                 CommunalAttributeVoting(c[f"drop_feature_rate_{k}"], threshold=c["drop_feature_thresh"],
                                         communities=self.communities, generator=self.generator))
                for k in (1, 2)]

    def build_loss(self) -> TeamUpLoss:
        c = self.config
        return TeamUpLoss(temperature=c["tau"], t0=int(c["t0"]), gamma_max=float(c["gamma_max"]),
                          batch_size=c["loss_batch_size"])

    def subgraph_views(self) -> list[tuple[CommunalEdgeDropping, CommunalAttributeVoting]]:
        """CED and CAV for sampled subgraphs, with the full graph's probabilities (by edge id, per column)."""
        return [(_SubgraphCED(ced, self.train_data), _SubgraphCAV(cav, self.data)) for ced, cav in self.views]

    def edge_drop_probabilities(self) -> list[Tensor]:
        """CED's per-edge drop probabilities :math:`1 - p^{keep}_e` of each view (POT's budgets)."""
        return [1 - drop_edges.keep_prob(self.train_data) for drop_edges, _ in self.views]

    def contrastive_loss(self, u: Tensor, v: Tensor, epoch: int, nodes: Tensor | None = None) -> Tensor:
        strength = self.communities.node_strength
        return self.loss(u, v, strength if nodes is None else strength[nodes], epoch)


class _SubgraphCED(CommunalEdgeDropping):
    """CED on subgraphs of one graph: each edge keeps that graph's keep probability, looked up by its id ``e_id``
    (the subgraph's own edges would give other community weights and another mean)."""

    def __init__(self, ced: CommunalEdgeDropping, graph: Data):
        super().__init__(ced.p, ced.threshold, ced.undirected, ced.communities, ced.method, ced.seed, ced.generator)
        self.graph_keep = ced.keep_prob(graph)

    def keep_prob(self, data: Data) -> Tensor:
        return self.graph_keep[data.e_id]


class _SubgraphCAV(CommunalAttributeVoting):
    """CAV on subgraphs of one graph: the attribute drop probabilities are that graph's (its votes)."""

    def __init__(self, cav: CommunalAttributeVoting, graph: Data):
        super().__init__(cav.p, cav.threshold, cav.communities, cav.method, cav.seed, cav.generator)
        self.graph_drop = cav.drop_prob(graph)

    def drop_prob(self, data: Data) -> Tensor:
        return self.graph_drop
