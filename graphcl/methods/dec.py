r"""Deep embedded clustering (DEC) pieces used by PamC: Student-t soft assignment, target distribution, KL loss.

`"Unsupervised Deep Embedding for Clustering Analysis" <https://arxiv.org/abs/1511.06335>`_ (Xie et al., 2016),
as used by SDCN, SCGC and PamC.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["soft_assignment", "target_distribution", "dec_kl"]


def soft_assignment(z: Tensor, centers: Tensor, v: float = 1.0) -> Tensor:
    r"""Student-t soft assignment of embeddings to cluster centres.

    .. math::
        q_{ik} = \frac{(1 + \|z_i - \mu_k\|^2 / v)^{-\frac{v+1}{2}}}
                      {\sum_{k'} (1 + \|z_i - \mu_{k'}\|^2 / v)^{-\frac{v+1}{2}}}

    Squared distances come from :math:`\|z\|^2 + \|\mu\|^2 - 2 z \mu^\top` (an :math:`N \times K` product, no
    :math:`N \times K \times d` broadcast), clamped at 0.

    Args:
        z (Tensor): embeddings :math:`(N, d)`.
        centers (Tensor): cluster centres :math:`(K, d)`.
        v (float, optional): degrees of freedom :math:`v > 0`. (default: :obj:`1.0`)

    Shapes:
        - **output:** :math:`(N, K)`, rows sum to 1

    Example:
        >>> soft_assignment(torch.tensor([[0., 0.]]), torch.tensor([[0., 0.], [1., 0.]]))
        tensor([[0.6667, 0.3333]])
    """
    if z.dim() != 2 or centers.dim() != 2 or z.size(1) != centers.size(1):
        raise ValueError(f"Expected 'z' (N, d) and 'centers' (K, d) with the same d "
                         f"(got {tuple(z.shape)} and {tuple(centers.shape)})")
    if not v > 0:
        raise ValueError(f"Expected 'v' > 0 (got {v})")
    d2 = (z.pow(2).sum(1, keepdim=True) + centers.pow(2).sum(1) - 2.0 * z @ centers.t()).clamp_min(0.0)
    q = (1.0 + d2 / v).pow(-(v + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    r"""DEC's auxiliary target: squares :math:`q` and divides by the soft cluster frequency.

    .. math::
        p_{ik} = \frac{q_{ik}^2 / f_k}{\sum_{k'} q_{ik'}^2 / f_{k'}}, \qquad f_k = \sum_i q_{ik}

    Args:
        q (Tensor): soft assignment :math:`(N, K)` (rows sum to 1).

    Shapes:
        - **output:** :math:`(N, K)`, rows sum to 1

    Example:
        >>> target_distribution(torch.tensor([[0.75, 0.25], [0.25, 0.75]]))
        tensor([[0.9000, 0.1000],
                [0.1000, 0.9000]])
    """
    if q.dim() != 2:
        raise ValueError(f"Expected 'q' of shape (N, K) (got {tuple(q.shape)})")
    weight = q.pow(2) / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


def dec_kl(q: Tensor, p: Tensor) -> Tensor:
    r"""The clustering loss :math:`\mathrm{KL}(P \,\|\, Q) = \frac{1}{N}\sum_i \sum_k p_{ik} \log(p_{ik}/q_{ik})`
    (``F.kl_div(q.log(), p, reduction='batchmean')``, as SDCN/SCGC/PamC)."""
    if q.shape != p.shape:
        raise ValueError(f"Expected 'q' and 'p' of the same shape (got {tuple(q.shape)} and {tuple(p.shape)})")
    return F.kl_div(q.clamp_min(1e-12).log(), p, reduction="batchmean")
