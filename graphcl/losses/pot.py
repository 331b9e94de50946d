r"""POT's node-compactness loss: a certified lower bound of each node's compactness, pushed up by cross-entropy."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..nn import BackboneEncoder
from .pot_bounds import (INTERCEPTS, AdjacencyBounds, compactness_lower_bound, reference_compactness_score,
                         view_compactness_lower_bound)

__all__ = ["POT_BOUNDS", "check_pot_settings", "compactness_weights", "node_compactness", "pot_loss"]

#: What :func:`pot_loss` pushes up: ``"view"`` (the relaxed compactness of the view's own graph), ``"certified"``
#: (the lower bound over every allowed graph), ``"reference"`` (the POT code's score, not a bound).
POT_BOUNDS = ("view", "certified", "reference")


def check_pot_settings(bound: str, intercept: str, num_layers: int, batched: bool) -> None:
    """One-line ``ValueError`` for a ``pot_bound`` or ``pot_intercept`` that is not one of the valid names, or for
    ``"reference"`` (the POT code's score) on an encoder that is not 2 layers deep or on a node subset."""
    if intercept not in INTERCEPTS:
        raise ValueError(f"Expected 'pot_intercept' to be one of {INTERCEPTS} (got {intercept!r})")
    if bound not in POT_BOUNDS:
        raise ValueError(f"Expected 'pot_bound' to be one of {POT_BOUNDS} (got {bound!r})")
    if bound == "reference" and (batched or num_layers != 2):
        raise ValueError("pot_bound 'reference' reproduces the POT code: a 2-layer encoder and pot_batch null")


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
             targets: Tensor | None = None, intercept: str = "chord", bound: str = "view",
             view_edge_index: Tensor | None = None) -> Tensor:
    r"""POT's loss for one view, from `"Provable Training for Graph Contrastive Learning"
    <https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023):

    .. math::
        \mathcal{L}_{POT} = \frac{1}{|T|}\sum_{i \in T} \mathrm{BCE}\big(\sigma(\tilde f_i), 1\big)
        = \frac{1}{|T|}\sum_{i \in T} \log\big(1 + e^{-\tilde f_i}\big)

    with :math:`\tilde f_i` a lower bound of node :math:`i`'s compactness, by ``bound``: ``"view"``, on the view's
    own graph ``view_edge_index`` with relaxations valid for every graph the view's edge dropping allows
    (:func:`~graphcl.losses.pot_bounds.view_compactness_lower_bound`); ``"certified"``, over all of them at once
    (:func:`~graphcl.losses.pot_bounds.compactness_lower_bound`); ``"reference"``, the POT code's score (not a
    bound; all nodes). ``x``: the view's features; the weights :math:`c`
    come from the other view's embeddings ``other`` of the targets :math:`T` (rows of ``other``; all nodes when
    ``targets`` is None). A method adds it as :math:`(1 - \kappa)\mathcal{L} + \kappa \mathcal{L}_{POT}`.
    """
    check_pot_settings(bound, intercept, len(encoder.convs), targets is not None)
    if bound != "certified" and view_edge_index is None:
        raise ValueError(f"pot_bound {bound!r} needs the view's graph (view_edge_index)")
    weights = compactness_weights(other)
    if bound == "certified":
        score = compactness_lower_bound(encoder, x, bounds, weights, targets, intercept)
    elif bound == "view":
        score = view_compactness_lower_bound(encoder, x, view_edge_index, bounds, weights, targets, intercept)
    else:
        score = reference_compactness_score(encoder, x, view_edge_index, bounds, weights)
    return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
