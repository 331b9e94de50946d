"""Group discrimination loss (GGD)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['GroupDiscriminationLoss', 'group_discrimination']


def group_discrimination(positive: Tensor, corrupted: Tensor) -> Tensor:
    r"""Group discrimination loss of `"Rethinking and Scaling Up Graph Contrastive Learning: An Extremely Efficient
    Approach with Group Discrimination" <https://arxiv.org/abs/2206.01535>`_ (GGD, Zheng et al., NeurIPS 2022).

    Each node's projected embedding is summed to one logit, :math:`s_i = \sum_d g_{id}`; the nodes of the
    positive group (the augmented graph) are labelled 1, those of the corrupted group (node features shuffled) 0,
    and the loss is binary cross-entropy over both groups:

    .. math::
        \mathcal{L} = -\frac{1}{N + M}\Big(\sum_{i=1}^{N} \log \sigma(s_i)
        + \sum_{j=1}^{M} \log\big(1 - \sigma(\tilde{s}_j)\big)\Big)

    The corrupted group's rows need not be in the positive group's node order: the loss is a sum over each group.

    Args:
        positive (torch.Tensor): projected embeddings of the positive group.
        corrupted (torch.Tensor): projected embeddings of the corrupted group.

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(M, D)`
        - **output:** scalar

    Example:
        >>> import torch
        >>> round(group_discrimination(torch.zeros(2, 3), torch.zeros(1, 3)).item(), 4)  # log 2
        0.6931
    """
    if positive.dim() != 2 or corrupted.dim() != 2 or positive.size(1) != corrupted.size(1):
        raise ValueError(f"Expected two (N, D) tensors of the same width (got {tuple(positive.shape)} and "
                         f"{tuple(corrupted.shape)})")
    if positive.size(0) == 0 or corrupted.size(0) == 0:
        raise ValueError("Expected non-empty positive and corrupted groups")
    logits = torch.cat([positive.sum(dim=1), corrupted.sum(dim=1)])
    labels = torch.cat([logits.new_ones(positive.size(0)), logits.new_zeros(corrupted.size(0))])
    return F.binary_cross_entropy_with_logits(logits, labels)


class GroupDiscriminationLoss(nn.Module):
    r"""Module form of :func:`group_discrimination` (GGD): binary cross-entropy of summed projected embeddings,
    positive group 1, corrupted group 0,
    :math:`\mathcal{L} = -\frac{1}{N+M}\big(\sum_i \log\sigma(s_i) + \sum_j \log(1 - \sigma(\tilde{s}_j))\big)`,
    :math:`s_i = \sum_d g_{id}`."""

    def forward(self, positive: Tensor, corrupted: Tensor) -> Tensor:
        return group_discrimination(positive, corrupted)
