r"""POT's node-compactness loss: a certified lower bound of each node's compactness, pushed up by cross-entropy."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..nn import BackboneEncoder
from .pot_bounds import AdjacencyBounds, compactness_lower_bound, view_compactness_lower_bound

__all__ = ["compactness_weights", "node_compactness", "pot_loss"]


def compactness_weights(other: Tensor) -> Tensor:
    r""":math:`c_i = \bar z_i - \frac{1}{N-1}\sum_{j \ne i} \bar z_j` with :math:`\bar z` the L2-normalised rows of
    the other view's embeddings ``other`` (:math:`N` rows, the nodes scored together): node :math:`i`'s compactness
    :math:`c_i^\top h_i` is its similarity to its positive minus its mean similarity to the negatives."""
    n = other.shape[0]
    if n < 2:
        raise ValueError(f"Node compactness needs at least 2 nodes (got {n})")
    z = F.normalize(other, dim=-1)
    return (z * n - z.sum(0, keepdim=True)) / (n - 1)


def node_compactness(h: Tensor, other: Tensor) -> Tensor:
    r"""The exact compactness :math:`f_i = c_i^\top h_i` (:func:`compactness_weights`) of embeddings ``h``."""
    return (compactness_weights(other) * h).sum(-1)


def pot_loss(encoder: BackboneEncoder, x: Tensor, bounds: AdjacencyBounds, other: Tensor,
             targets: Tensor | None = None, intercept: str = "chord", view_edge_index: Tensor | None = None
             ) -> Tensor:
    r"""POT's loss for one view, from `"Provable Training for Graph Contrastive Learning"
    <https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023):

    .. math::
        \mathcal{L}_{POT} = \frac{1}{|T|}\sum_{i \in T} \mathrm{BCE}\big(\sigma(\tilde f_i), 1\big)
        = \frac{1}{|T|}\sum_{i \in T} \log\big(1 + e^{-\tilde f_i}\big)

    with :math:`\tilde f_i` a lower bound of node :math:`i`'s compactness: over every graph the view's edge dropping
    allows (:func:`~graphcl.losses.pot_bounds.compactness_lower_bound`), or, given ``view_edge_index``, on the view's
    own graph with relaxations valid for all of them (the POT code's signal,
    :func:`~graphcl.losses.pot_bounds.view_compactness_lower_bound`); the view's features ``x``, and the weights
    :math:`c` from the other view's embeddings ``other`` of the targets :math:`T` (rows of ``other``; all nodes when
    ``targets`` is None). A method adds it as :math:`(1 - \kappa)\mathcal{L} + \kappa \mathcal{L}_{POT}`.
    """
    weights = compactness_weights(other)
    if view_edge_index is None:
        bound = compactness_lower_bound(encoder, x, bounds, weights, targets, intercept)
    else:
        bound = view_compactness_lower_bound(encoder, x, view_edge_index, bounds, weights, targets, intercept)
    return F.binary_cross_entropy_with_logits(bound, torch.ones_like(bound))
