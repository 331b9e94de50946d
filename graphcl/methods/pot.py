r"""POT as a switch of a node method: its config keys, and the regulariser that adds the certified compactness loss.

`"Provable Training for Graph Contrastive Learning" <https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023):
:math:`\mathcal{L} = (1 - \kappa)\,\mathcal{L}_{method} + \kappa\,\frac{1}{V}\sum_v \mathcal{L}_{POT}(v)`, one term per
view that drops edges (:func:`graphcl.losses.pot.pot_loss`). A method with a GCN encoder of
:class:`~graphcl.nn.BackboneConv` layers switches it on with ``pot: true``; see ``docs/pot.md``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..losses.pot import check_pot_settings, pot_loss
from ..losses.pot_bounds import AdjacencyBounds, check_pot_encoder
from ..nn import BackboneEncoder

__all__ = ["POTRegulariser", "pot_defaults"]


def pot_defaults(kappa: float, bound: str = "reference") -> dict[str, Any]:
    """The POT config keys of a method, with its default :math:`\\kappa` (the POT paper's value for the base method:
    0.4 for GRACE, 0.3 for GCA-style methods such as CSGCL) and ``pot_bound`` (the POT code's score, which gives the
    published gains, where the encoder has the two layers it needs; docs/pot.md)."""
    return {
        "pot": False,             # (bool) add POT's node-compactness loss (docs/pot.md)
        "pot_kappa": kappa,       # (float) kappa in [0, 1]: loss = (1 - kappa) * method loss + kappa * POT loss
        "pot_batch": None,        # (int|null) nodes whose compactness is bounded per step (a fresh random subset each
                                  #            step); null = all nodes (the reference: 4096-node batches past
                                  #            ~10k nodes)
        "pot_intercept": "chord",  # (str) upper line of an unstable ReLU/PReLU: chord (tight) or reference (the POT
                                   #       code's looser intercept (a - 1) u l / (u - a l)); both sound
        "pot_bound": bound,       # (str) reference: the POT code's score (not a bound; 2 layers, all nodes); view:
                                  #       the relaxed compactness of each view's own graph, relaxations valid for every
                                  #       allowed graph; certified: the lower bound over every allowed graph at once
    }


class POTRegulariser:
    r"""The POT term of a method: for each view :math:`v` the allowed graphs (from the view's edge-drop
    probabilities on the training graph, built once), a node sample per step, and
    :math:`(1 - \kappa)\mathcal{L} + \kappa\,\mathrm{mean}_v\, \mathcal{L}_{POT}(v)`.

    The compactness of view :math:`v` is bounded with the view's own features (after feature masking) against the
    embeddings of its partner view (``partners``: view 0 with view 1 and back, for two views).
    """

    def __init__(self, config: dict[str, Any], encoder: BackboneEncoder, edge_index: Tensor, num_nodes: int,
                 drop_probs: Sequence[Tensor | float], generator: torch.Generator):
        kappa, batch, intercept = config["pot_kappa"], config["pot_batch"], config["pot_intercept"]
        if not 0.0 <= float(kappa) <= 1.0:
            raise ValueError(f"Expected 'pot_kappa' in [0, 1] (got {kappa!r})")
        if batch is not None and (int(batch) != batch or int(batch) < 2):
            raise ValueError(f"Expected 'pot_batch' to be null or an integer >= 2 (got {batch!r})")
        check_pot_settings(config["pot_bound"], intercept, len(encoder.convs), batch is not None)
        self.bound = config["pot_bound"]
        if num_nodes < 2:
            raise ValueError(f"POT needs a graph with at least 2 nodes (got {num_nodes})")
        check_pot_encoder(encoder)
        self.kappa, self.intercept = float(kappa), intercept
        self.batch = None if batch is None or int(batch) >= num_nodes else int(batch)
        self.encoder, self.num_nodes, self.generator = encoder, num_nodes, generator
        self.bounds = [AdjacencyBounds.from_drops(edge_index, num_nodes, p) for p in drop_probs]

    def targets(self) -> Tensor | None:
        """This step's scored nodes: all (None), or ``pot_batch`` drawn without replacement."""
        if self.batch is None:
            return None
        perm = torch.randperm(self.num_nodes, generator=self.generator, device=self.generator.device)
        return perm[: self.batch]

    def __call__(self, loss: Tensor, views: Sequence[Data], partners: Sequence[Tensor]) -> Tensor:
        """``loss`` regularised: ``views[v]`` is view v (its features and dropped graph), ``partners[v]`` the
        embeddings its compactness is measured against (the other view's encoder output)."""
        if len(views) != len(self.bounds) or len(partners) != len(self.bounds):
            raise ValueError(f"Expected {len(self.bounds)} views for POT (got {len(views)})")
        targets = self.targets()
        terms = [pot_loss(self.encoder, view.x, b, other if targets is None else other[targets], targets,
                          self.intercept, self.bound, view.edge_index)
                 for view, b, other in zip(views, self.bounds, partners)]
        return (1 - self.kappa) * loss + self.kappa * torch.stack(terms).mean()
