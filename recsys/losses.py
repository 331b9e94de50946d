r"""Contrastive losses of the sequential recommenders: the 2B-view InfoNCE of CL4SRec / MCLRec / ICSRec (dot or
cosine similarity, optional false-negative mask) and MCLRec's margin regulariser :math:`R`.

These differ from :func:`graphcl.losses.info_nce` (GRACE) in the similarity (dot product by default, as the
papers' code) and the false-negative mask keyed by labels (ICSRec); with ``similarity='cos'`` and no labels the
value equals GRACE's InfoNCE.

In RecBole's multi-process mode each rank holds a share of the batch; :func:`gather_batch` gives the models the
whole batch's rows, so that their in-batch negatives are the global batch's.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.train import distributed

__all__ = ['SIMILARITIES', 'SequenceInfoNCELoss', 'contrast_scores', 'gather_batch', 'margin_regularizer',
           'sequence_info_nce']

#: Valid values of ``similarity``.
SIMILARITIES = ('dot', 'cos')


def _check(z1: Tensor, z2: Tensor, temperature: float, similarity: str) -> None:
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"Expected 'z1' and 'z2' of the same shape [B, D] (got {tuple(z1.shape)} and "
                         f"{tuple(z2.shape)})")
    if not temperature > 0:
        raise ValueError(f"Expected 'temperature' > 0 (got {temperature})")
    if similarity not in SIMILARITIES:
        raise ValueError(f"Expected 'similarity' to be one of {SIMILARITIES} (got '{similarity}')")


def _similarity(z1: Tensor, z2: Tensor, temperature: float, similarity: str) -> Tensor:
    z = torch.cat([z1, z2], dim=0)
    if similarity == 'cos':
        z = F.normalize(z, dim=-1)
    return z @ z.t() / temperature


def gather_batch(*tensors: Tensor) -> Tuple[Tensor, ...]:
    r"""The global batch of a process group: each tensor's rows of every rank, concatenated in rank order, with
    gradients flowing back to this rank's rows (:func:`graphcl.train.distributed.gather_with_grad`).

    A contrastive loss computed from the gathered tensors is the same on every rank and equals the one-process loss
    over the whole batch (its negatives are every rank's views); the backward pass sums what all ranks send to a
    rank's rows, so DDP's mean over the :math:`N` ranks gives the one-process gradient. The ranks' shares may differ
    in size (their row counts are gathered first). Without a process group: the tensors themselves.

    Args:
        *tensors (torch.Tensor): this rank's representations, labels, ..., all with the same number of rows.

    Returns:
        tuple of torch.Tensor: the gathered tensors, in the order given.

    Example:
        >>> z, y = torch.ones(2, 3), torch.arange(2)
        >>> gather_batch(z, y)[1].tolist()  # no process group
        [0, 1]
    """
    rows = [t.size(0) for t in tensors]
    if len(set(rows)) > 1:
        raise ValueError(f"Expected tensors of the same number of rows (got {rows})")
    if not tensors or not distributed.is_distributed():
        return tensors
    count = torch.tensor([rows[0]], device=tensors[0].device)
    sizes = distributed.gather_with_grad(count).tolist()  # every rank's row count, in rank order
    return tuple(distributed.gather_with_grad(t, sizes) for t in tensors)


def sequence_info_nce(z1: Tensor, z2: Tensor, temperature: float = 1.0, similarity: str = 'dot',
                      labels: Optional[Tensor] = None, reduction: str = 'mean') -> Tensor:
    r"""Symmetric InfoNCE over the :math:`2B` views of a batch (NT-Xent), as in CL4SRec, MCLRec and ICSRec.

    With :math:`z = [z^{(1)}; z^{(2)}]` (:math:`2B` rows), :math:`p(i)` the other view of row :math:`i` and
    :math:`s_{ij} = \mathrm{sim}(z_i, z_j) / \tau`:

    .. math::
        \mathcal{L} = -\frac{1}{2B} \sum_{i=1}^{2B} \log
        \frac{e^{s_{i p(i)}}}{e^{s_{i p(i)}} + \sum_{j \notin \{i, p(i)\},\, y_j \ne y_i} e^{s_{ij}}}

    Without ``labels`` every :math:`j \ne i, p(i)` is a negative (:math:`2B - 2` per row). With labels
    :math:`y` (ICSRec's false-negative mask) the views that share the anchor's label are removed from the
    denominator (their logits set to :math:`-\infty`).

    Args:
        z1 (torch.Tensor): ``[B, D]`` first views.
        z2 (torch.Tensor): ``[B, D]`` second views (row ``b`` is the positive of row ``b`` of ``z1``).
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)
        similarity (str, optional): ``'dot'`` or ``'cos'``. (default: :obj:`'dot'`)
        labels (torch.Tensor, optional): ``[B]`` label of each pair (ICSRec: target item or intent id).
            (default: :obj:`None`)
        reduction (str, optional): ``'mean'`` or ``'none'`` (``[2B]`` per-view losses). (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(B, D)`, :math:`(B, D)`, optional :math:`(B)`
        - **output:** scalar, or :math:`(2B)` with ``reduction='none'``

    Example:
        >>> z = torch.eye(2)
        >>> round(sequence_info_nce(z, z).item(), 4)  # -log(e / (e + 1 + 1))
        0.5514
    """
    _check(z1, z2, temperature, similarity)
    if reduction not in ('mean', 'none'):
        raise ValueError(f"Expected 'reduction' to be one of ('mean', 'none') (got '{reduction}')")
    batch = z1.size(0)
    logits = _similarity(z1, z2, temperature, similarity)
    idx = torch.arange(2 * batch, device=z1.device)
    positive = (idx + batch) % (2 * batch)
    drop = torch.eye(2 * batch, dtype=torch.bool, device=z1.device)
    if labels is not None:
        if labels.shape != (batch,):
            raise ValueError(f"Expected 'labels' of shape [{batch}] (got {tuple(labels.shape)})")
        y = torch.cat([labels, labels])
        drop = drop | (y.unsqueeze(0) == y.unsqueeze(1))
    drop[idx, positive] = False
    logits = logits.masked_fill(drop, float('-inf'))
    loss = F.cross_entropy(logits, positive, reduction='none')
    return loss.mean() if reduction == 'mean' else loss


class SequenceInfoNCELoss(nn.Module):
    r"""Module form of :func:`sequence_info_nce` (CL4SRec / MCLRec / ICSRec InfoNCE).

    .. math::
        \mathcal{L} = -\frac{1}{2B} \sum_{i} \log
        \frac{e^{s_{i p(i)}}}{e^{s_{i p(i)}} + \sum_{j \notin \{i, p(i)\},\, y_j \ne y_i} e^{s_{ij}}}

    Args:
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)
        similarity (str, optional): ``'dot'`` or ``'cos'``. (default: :obj:`'dot'`)

    Shapes:
        - **input:** :math:`(B, D)`, :math:`(B, D)`, optional labels :math:`(B)`
        - **output:** scalar
    """

    def __init__(self, temperature: float = 1.0, similarity: str = 'dot'):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"Expected 'temperature' > 0 (got {temperature})")
        if similarity not in SIMILARITIES:
            raise ValueError(f"Expected 'similarity' to be one of {SIMILARITIES} (got '{similarity}')")
        self.temperature = float(temperature)
        self.similarity = similarity

    def forward(self, z1: Tensor, z2: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return sequence_info_nce(z1, z2, self.temperature, self.similarity, labels)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, similarity={self.similarity!r}'


def contrast_scores(z1: Tensor, z2: Tensor, temperature: float = 1.0,
                    similarity: str = 'dot') -> Tuple[Tensor, Tensor]:
    r"""Positive and negative scores of the :math:`2B` views: ``pos`` ``[2B]`` (:math:`s_{i p(i)}`) and ``neg``
    ``[2B, 2B - 2]`` (:math:`s_{ij}`, :math:`j \notin \{i, p(i)\}`, in increasing :math:`j`)."""
    _check(z1, z2, temperature, similarity)
    batch = z1.size(0)
    sim = _similarity(z1, z2, temperature, similarity)
    idx = torch.arange(2 * batch, device=z1.device)
    positive = (idx + batch) % (2 * batch)
    keep = ~torch.eye(2 * batch, dtype=torch.bool, device=z1.device)
    keep[idx, positive] = False
    return sim[idx, positive], sim[keep].view(2 * batch, 2 * batch - 2)


def margin_regularizer(z1: Tensor, z2: Tensor, temperature: float = 1.0, similarity: str = 'dot',
                       per_row: bool = True) -> Tensor:
    r"""MCLRec's regulariser :math:`R` on the scores of a pair of view batches
    (`"Meta-optimized Contrastive Learning for Sequential Recommendation" <https://arxiv.org/abs/2304.07763>`_).

    From the positive scores :math:`s^+` and negative scores :math:`s^-` of :func:`contrast_scores`:

    .. math::
        o_{\min} = \min(\min s^+, \max s^-), \quad o_{\max} = \max(\min s^+, \max s^-)

        R = \operatorname{mean}\,[s^+ - o_{\min}]_+ + \operatorname{mean}\,[o_{\max} - s^-]_+

    With ``per_row=True`` (the authors' code) :math:`o_{\min}, o_{\max}` are taken per anchor row (each row has
    one positive and :math:`2B - 2` negatives); with ``per_row=False`` (the paper's text) over the whole batch.
    Means run over all positive, resp. negative, entries.

    A batch of one pair has no negatives: :math:`R = 0`.

    Args:
        z1 (torch.Tensor): ``[B, D]`` first views.
        z2 (torch.Tensor): ``[B, D]`` second views.
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)
        similarity (str, optional): ``'dot'`` or ``'cos'``. (default: :obj:`'dot'`)
        per_row (bool, optional): per-anchor margins. (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(B, D)`, :math:`(B, D)`
        - **output:** scalar
    """
    _check(z1, z2, temperature, similarity)
    batch = z1.size(0)
    if batch < 2:  # no negatives
        return z1.new_zeros(())
    sim = _similarity(z1, z2, temperature, similarity)
    idx = torch.arange(2 * batch, device=z1.device)
    positive = (idx + batch) % (2 * batch)
    pos = sim[idx, positive]  # [2B]
    is_neg = ~torch.eye(2 * batch, dtype=torch.bool, device=z1.device)
    is_neg[idx, positive] = False
    # masked reductions instead of boolean indexing (no nonzero / index_put on the 2B x 2B matrix)
    neg_max = sim.masked_fill(~is_neg, float('-inf')).max(dim=1).values  # [2B]
    if per_row:
        min_pos, max_neg = pos, neg_max
    else:
        min_pos, max_neg = pos.min(), neg_max.max()
    o_min = torch.minimum(min_pos, max_neg)
    o_max = torch.maximum(min_pos, max_neg)
    pos_term = torch.clamp(pos - o_min, min=0).mean()
    o_max = o_max.unsqueeze(-1) if per_row else o_max
    neg_term = (torch.clamp(o_max - sim, min=0) * is_neg).sum() / (2 * batch * (2 * batch - 2))
    return pos_term + neg_term
