r"""ICSRec: intent contrastive learning with same-target subsequences and k-means intents."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from graphcl.eval.kmeans import kmeans_fit
from graphcl.train import distributed

from ..losses import SIMILARITIES, gather_batch, sequence_info_nce
from .sasrec_backbone import SASRecBackbone, _cfg

__all__ = ['ICSRec', 'POSITIVE_MODES', 'kmeans']

#: Values of the ``same_target_positive`` config key (see :meth:`ICSRec.same_target_positives`).
POSITIVE_MODES = ('last', 'uniform')


def kmeans(x: Tensor, k: int, niter: int = 20, nredo: int = 5, seed: int = 1) -> Tensor:
    r"""Intent centroids: Euclidean k-means with faiss (:func:`graphcl.eval.kmeans_fit`, ``niter`` Lloyd
    iterations, best of ``nredo`` restarts, on all points), ``k`` reduced to ``N`` when there are fewer points.

    Args:
        x (torch.Tensor): ``[N, d]`` points (any device; clustered on the CPU).
        k (int): clusters.
        niter (int, optional): iterations per run. (default: :obj:`20`)
        nredo (int, optional): restarts, the lowest objective is kept. (default: :obj:`5`)
        seed (int, optional): faiss seed. (default: :obj:`1`)

    Returns:
        torch.Tensor: ``[k', d]`` centroids (float32, on ``x``'s device).
    """
    if k < 1:
        raise ValueError(f"Expected 'k' >= 1 (got {k})")
    result = kmeans_fit(x, min(int(k), x.size(0)), seed=seed, n_init=nredo, backend="faiss", max_iter=niter)
    return torch.from_numpy(result.centers).to(x.device)


class ICSRec(SASRecBackbone):
    r"""ICSRec, `"Intent Contrastive Learning with Cross Subsequences for Sequential Recommendation"
    <https://arxiv.org/abs/2310.14318>`_ (Qin et al., WSDM 2024), on the backbone SASRec.

    Training samples are RecBole's prefix subsequences (every prefix of a user's training sequence with its next
    item). For a sample :math:`s` with target :math:`y`, the positive :math:`s^+` is another training subsequence
    (any user) with the same target: the last one in the training set's order, as the authors' code, or one drawn
    uniformly per batch (``same_target_positive``; the sample itself when it is the only one). With
    :math:`h = ` encoder output at the last item and :math:`L_{con}` =
    :func:`recsys.losses.sequence_info_nce`:

    .. math::
        L_{CICL} = L_{con}\big(h(s), h(s^+); \text{labels } y\big)

        L_{FICL} = L_{con}\big(h(s), c(h(s)); \text{labels } k(s)\big) + L_{con}\big(h(s^+), c(h(s^+)); k(s^+)\big)

        L = L_{rec} + \lambda L_{CICL} + \beta L_{FICL}

    where the labels drive the false-negative mask (views with the anchor's target, resp. intent, are removed
    from the denominator), :math:`k(\cdot)` is the nearest of :math:`K` k-means centroids (re-fitted on all
    training subsequences at the start of every epoch by :class:`recsys.trainers.ICSRecTrainer`) and
    :math:`c(\cdot)` its L2-normalised centroid. In RecBole's multi-process mode :math:`h(s)`, :math:`h(s^+)` and
    the targets of every rank are gathered (:func:`recsys.losses.gather_batch`) before both terms: their negatives
    and false-negative masks are the global batch's, as in one process.

    The model must be built on the *training* dataset (``train_data.dataset``, as RecBole does): its targets and
    subsequences form the same-target lookup (a CSR table ``target -> sample rows``, stored as non-persistent
    buffers so it follows the model's device).

    Config keys (``recsys/models/ICSRec.yaml``), besides SASRec's: ``lmd``, ``beta``, ``tau``, ``sim``,
    ``n_intents`` (:math:`K`), ``kmeans_niter``, ``kmeans_nredo``, ``kmeans_seed`` (faiss seed of every
    clustering; the authors' code uses 1, ``None`` takes the run's ``seed``), ``fn_mask`` (false-negative masks
    on/off), ``same_target_positive`` (:data:`POSITIVE_MODES`), ``separate_anchor_pass`` (``True``: :math:`h(s)` of
    both intent losses comes from a second encoder pass, with its own dropout, as the authors' code does; ``False``,
    the default: the recommendation loss's pass is reused, one encoder pass fewer per batch).
    """

    def __init__(self, config: Any, dataset: Any):
        super().__init__(config, dataset)
        self.lmd = float(_cfg(config, 'lmd', 0.1))
        self.beta = float(_cfg(config, 'beta', 0.1))
        self.tau = float(_cfg(config, 'tau', 1.0))
        self.sim = str(_cfg(config, 'sim', 'dot'))
        if self.sim not in SIMILARITIES:
            raise ValueError(f"Expected 'sim' to be one of {SIMILARITIES} (got '{self.sim}')")
        self.n_intents = int(_cfg(config, 'n_intents', 256))
        if self.n_intents < 1:
            raise ValueError(f"Expected 'n_intents' >= 1 (got {self.n_intents})")
        self.kmeans_niter = int(_cfg(config, 'kmeans_niter', 20))
        self.kmeans_nredo = int(_cfg(config, 'kmeans_nredo', 5))
        self.fn_mask = bool(_cfg(config, 'fn_mask', True))
        self.separate_anchor_pass = bool(_cfg(config, 'separate_anchor_pass', False))
        self.kmeans_seed = int(_cfg(config, 'kmeans_seed', _cfg(config, 'seed', 1)))
        self.same_target_positive = str(_cfg(config, 'same_target_positive', 'last'))
        if self.same_target_positive not in POSITIVE_MODES:
            raise ValueError(f"Expected 'same_target_positive' to be one of {POSITIVE_MODES} "
                             f"(got '{self.same_target_positive}')")

        inter = dataset.inter_feat
        seqs = inter[self.ITEM_SEQ].long()
        lengths = inter[self.ITEM_SEQ_LEN].long()
        targets = inter[self.ITEM_ID].long()
        order = torch.argsort(targets, stable=True)
        counts = torch.bincount(targets, minlength=self.n_items)
        offsets = torch.zeros(counts.numel() + 1, dtype=torch.long)
        offsets[1:] = torch.cumsum(counts, 0)
        self.register_buffer('train_seq', seqs, persistent=False)
        self.register_buffer('train_len', lengths, persistent=False)
        self.register_buffer('target_order', order, persistent=False)
        self.register_buffer('target_offsets', offsets, persistent=False)
        last_row, last_other_row = self._last_rows(seqs, lengths, targets, order, offsets)
        self.register_buffer('target_last_row', last_row, persistent=False)
        self.register_buffer('target_last_other_row', last_other_row, persistent=False)
        self.register_buffer('intent_centroids', torch.empty(0, self.hidden_size), persistent=False)
        self.register_buffer('intent_vectors', torch.empty(0, self.hidden_size), persistent=False)

    # ----------------------------------------------------------------- coarse-grain positives
    @staticmethod
    def _last_rows(seqs: Tensor, lengths: Tensor, targets: Tensor, order: Tensor,
                   offsets: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Per target item: the last training row with that target, and the last one whose subsequence differs
        from that row's (``-1`` where there is none); rows in the training set's order."""
        rows = torch.cat([order, order.new_full((1,), -1)])  # rows[-1] == -1: "none"
        group = targets[order]  # target of each row, rows sorted by target (stable)
        last = offsets[1:] - 1  # sorted position of each target's last row, -1 if none
        ref = rows[last[group]]
        differs = (lengths[order] != lengths[ref]) | (seqs[order] != seqs[ref]).any(dim=1)
        position = torch.where(differs, torch.arange(order.numel()), torch.full_like(order, -1))
        last_other = torch.full_like(last, -1).scatter_reduce(0, group, position, 'amax')
        return rows[last], rows[last_other]

    def same_target_positives(self, item_seq: Tensor, item_seq_len: Tensor, target: Tensor,
                              generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
        r"""A training subsequence with the same target for each row, different from the row's own sequence
        whenever one exists; otherwise the row itself. Returns ``(seq [B, L], len [B])``.

        ``same_target_positive: last`` (the authors' code) takes the last such subsequence in the training set's
        order (users in the data's order, shorter prefixes first, as the authors' segmented file), the same one
        at every epoch; ``uniform`` draws one uniformly at each call (``generator`` drives the draw)."""
        target = target.long()
        inside = target < self.target_offsets.numel() - 1
        safe_target = torch.where(inside, target, torch.zeros_like(target))
        start = self.target_offsets[safe_target]
        count = torch.where(inside, self.target_offsets[safe_target + 1] - start, torch.zeros_like(start))
        has = count > 0
        if self.same_target_positive == 'last':
            first = torch.clamp(self.target_last_row[safe_target], min=0)  # any row where the target has none
            second = self.target_last_other_row[safe_target]
            has_second = second >= 0
            second = torch.clamp(second, min=0)
        else:
            n = torch.clamp(count, min=1)
            u = torch.rand(target.shape, generator=generator, device=target.device)
            r = torch.minimum((u * n).long(), n - 1)
            first = self.target_order[torch.where(has, start + r, torch.zeros_like(start))]
            # Redraw once among the other count - 1 candidates when the draw is the anchor's own sequence.
            u2 = torch.rand(target.shape, generator=generator, device=target.device)
            shift = 1 + torch.minimum((u2 * torch.clamp(n - 1, min=1)).long(), torch.clamp(n - 2, min=0))
            second = self.target_order[torch.where(has, start + (r + shift) % n, torch.zeros_like(start))]
            has_second = count > 1
        same = (self.train_len[first] == item_seq_len) & (self.train_seq[first] == item_seq).all(dim=1)
        pick = torch.where(same & has_second, second, first)
        seq = torch.where(has.unsqueeze(1), self.train_seq[pick], item_seq)
        length = torch.where(has, self.train_len[pick], item_seq_len)
        return seq, length

    # ----------------------------------------------------------------- fine-grain intents
    @property
    def has_intents(self) -> bool:
        """Whether :meth:`fit_intents` has run."""
        return self.intent_centroids.numel() > 0

    @torch.no_grad()
    def encode_training_sequences(self, batch_size: int = 4096, start: int = 0,
                                  stop: Optional[int] = None) -> Tensor:
        r"""Representations :math:`h` of the training subsequences ``start:stop`` (default: all), ``[N, d]`` (eval
        mode, no dropout)."""
        was_training = self.training
        self.eval()
        seqs, lengths = self.train_seq[start:stop], self.train_len[start:stop]
        out = [self.forward(seqs[i:i + batch_size], lengths[i:i + batch_size])
               for i in range(0, seqs.size(0), batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else self.train_seq.new_zeros((0, self.hidden_size), dtype=torch.float)

    def set_intents(self, centroids: Tensor) -> None:
        """Install k-means centroids ``[K, d]`` (assignment uses them raw, :math:`c(\\cdot)` L2-normalised)."""
        centroids = centroids.detach().to(self.item_embedding.weight)
        self.intent_centroids = centroids
        self.intent_vectors = torch.nn.functional.normalize(centroids, dim=-1)

    def fit_intents(self, batch_size: int = 4096) -> Tensor:
        """Encode all training subsequences, run k-means, install and return the centroids.

        In a process group (``nproc`` > 1) every rank encodes its contiguous share of the subsequences, the shares
        are all-gathered in row order (the points of one process), rank 0 clusters them and broadcasts the
        centroids (or its exception): every rank installs the same ones. Every rank must call it."""
        if not distributed.is_distributed():
            centroids = self._kmeans(self.encode_training_sequences(batch_size))
        else:
            sizes = distributed.share_sizes(self.train_seq.size(0), distributed.world_size())
            start = sum(sizes[:distributed.rank()])
            h = distributed.gather_with_grad(
                self.encode_training_sequences(batch_size, start, start + sizes[distributed.rank()]), sizes)
            centroids = distributed.run_on_main(lambda: self._kmeans(h).cpu())  # rank 0's, on every rank
        self.set_intents(centroids)
        return self.intent_centroids

    def _kmeans(self, h: Tensor) -> Tensor:
        return kmeans(h, self.n_intents, self.kmeans_niter, self.kmeans_nredo, self.kmeans_seed)

    def assign_intents(self, h: Tensor) -> Tensor:
        """Index of the nearest centroid (squared Euclidean) for each row of ``h``."""
        return torch.cdist(h.detach(), self.intent_centroids).argmin(dim=1)

    # ----------------------------------------------------------------- loss
    def calculate_loss(self, interaction: Any) -> Tensor:
        loss, h1 = self.rec_loss(interaction)
        use_cicl, use_ficl = self.lmd != 0, self.beta != 0 and self.has_intents
        if not (use_cicl or use_ficl):
            return loss
        item_seq, item_seq_len = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        target = interaction[self.POS_ITEM_ID]
        if self.separate_anchor_pass:
            h1 = self.forward(item_seq, item_seq_len)
        pos_seq, pos_len = self.same_target_positives(item_seq, item_seq_len, target)
        h1, h2, target = gather_batch(h1, self.forward(pos_seq, pos_len), target)
        if use_cicl:
            loss = loss + self.lmd * sequence_info_nce(h1, h2, self.tau, self.sim,
                                                       labels=target if self.fn_mask else None)
        if use_ficl:
            ficl = h1.new_zeros(())
            for h in (h1, h2):
                ids = self.assign_intents(h)
                ficl = ficl + sequence_info_nce(h, self.intent_vectors[ids], self.tau, self.sim,
                                                labels=ids if self.fn_mask else None)
            loss = loss + self.beta * ficl
        return loss
