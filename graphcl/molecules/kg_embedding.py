r"""Knowledge-graph embeddings (TransE, RotatE) of the element KG, used by KCL to initialise attribute nodes.

KCL initialises the attribute-node embeddings of its augmented molecular graphs with RotatE embeddings of the
element KG (``RotatE_128_64``: 128-d entities, 64-d relations), see `"Molecular Contrastive Learning with Chemical
Element Knowledge Graph" <https://arxiv.org/abs/2112.00544>`_.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .element_kg import ElementKG

__all__ = ['KGEmbeddingModel', 'KG_SCORES', 'sample_negatives', 'train_kg_embedding_model', 'train_kg_embedding']

KG_SCORES = ('transe', 'rotate')


class KGEmbeddingModel(nn.Module):
    r"""Entity and relation embeddings scored by TransE (`Bordes et al., 2013
    <https://papers.nips.cc/paper/5071-translating-embeddings-for-modeling-multi-relational-data>`_) or RotatE
    (`Sun et al., 2019 <https://arxiv.org/abs/1902.10197>`_), trained with RotatE's self-adversarial negative
    sampling loss.

    .. math::
        f_{\text{TransE}}(h, r, t) = \gamma - \lVert \mathbf{h} + \mathbf{r} - \mathbf{t} \rVert_1,\qquad
        f_{\text{RotatE}}(h, r, t) = \gamma - \sum_{i=1}^{d/2} \lvert h_i e^{\mathrm{i}\theta_{r,i}} - t_i \rvert

    .. math::
        \mathcal{L} = -\log\sigma(f(h, r, t)) - \sum_{j=1}^{K} p_j \log\sigma(-f(h'_j, r, t'_j)),\qquad
        p_j = \operatorname{softmax}_j\big(\alpha f(h'_j, r, t'_j)\big)\ \text{(no gradient)}

    For RotatE an entity is a complex vector of :math:`d/2` coordinates stored as :math:`d` reals (real parts
    first, then imaginary parts) and a relation is a vector of :math:`d/2` phases :math:`\theta_r` (radians); for
    TransE both are :math:`d`-dimensional. Entities are initialised uniformly in :math:`\pm(\gamma + 2)/d'`
    (:math:`d'` = :math:`d/2` for RotatE, :math:`d` for TransE) as in the RotatE code, phases uniformly in
    :math:`[-\pi, \pi)`.

    Args:
        num_entities (int): number of entities.
        num_relations (int): number of relations.
        dim (int, optional): real width :math:`d` of an entity vector (even for RotatE). (default: :obj:`128`)
        score (str, optional): ``'rotate'`` or ``'transe'``. (default: :obj:`'rotate'`)
        gamma (float, optional): margin :math:`\gamma`. (default: :obj:`6.0`)
        generator (torch.Generator, optional): source of the initial values. (default: :obj:`None`)

    Shapes:
        - **score(head, relation, tail):** broadcastable long tensors -> float tensor of the broadcast shape
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 128, score: str = 'rotate',
                 gamma: float = 6.0, generator: Optional[torch.Generator] = None):
        super().__init__()
        if score not in KG_SCORES:
            raise ValueError(f"Expected 'score' to be one of {KG_SCORES} (got {score!r})")
        for name, value in (('num_entities', num_entities), ('num_relations', num_relations), ('dim', dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected '{name}' to be a positive int (got {value!r})")
        if score == 'rotate' and dim % 2:
            raise ValueError(f"Expected an even 'dim' for RotatE (real and imaginary halves) (got {dim})")
        if not gamma > 0:
            raise ValueError(f"Expected 'gamma' to be positive (got {gamma!r})")
        self.num_entities, self.num_relations, self.dim = num_entities, num_relations, dim
        self.score_name, self.gamma = score, float(gamma)
        self.rel_dim = dim // 2 if score == 'rotate' else dim
        self.entity = nn.Parameter(torch.empty(num_entities, dim))
        self.relation = nn.Parameter(torch.empty(num_relations, self.rel_dim))
        self.reset_parameters(generator)

    @property
    def embedding_range(self) -> float:
        return (self.gamma + 2.0) / (self.dim // 2 if self.score_name == 'rotate' else self.dim)

    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        r = self.embedding_range
        with torch.no_grad():
            self.entity.copy_(torch.rand(self.entity.shape, generator=generator) * 2 * r - r)
            if self.score_name == 'rotate':
                self.relation.copy_(torch.rand(self.relation.shape, generator=generator) * 2 * math.pi - math.pi)
            else:
                self.relation.copy_(torch.rand(self.relation.shape, generator=generator) * 2 * r - r)

    def _relation_operator(self) -> Tuple[Tensor, Tensor]:
        """``(cos theta, sin theta)`` per relation for RotatE (computed once per call, not per triple)."""
        return torch.cos(self.relation), torch.sin(self.relation)

    def _move(self, ent: Tensor, rel: Tensor, inverse: bool, op: Optional[Tuple[Tensor, Tensor]] = None) -> Tensor:
        r"""``ent`` moved by relation ``rel``: :math:`h + r` / :math:`h \circ r` (``inverse``: :math:`t - r` /
        :math:`t \circ \bar r`)."""
        x = self.entity[ent]
        if self.score_name == 'transe':
            r = self.relation[rel]
            return x - r if inverse else x + r
        cos, sin = self._relation_operator() if op is None else op
        cos, sin = cos[rel], sin[rel]
        sin = -sin if inverse else sin
        re, im = x.chunk(2, dim=-1)
        return torch.cat([re * cos - im * sin, re * sin + im * cos], dim=-1)

    def _dist(self, a: Tensor, b: Tensor) -> Tensor:
        d = a - b
        if self.score_name == 'transe':
            return d.abs().sum(-1)
        re, im = d.chunk(2, dim=-1)
        return torch.sqrt(re * re + im * im + 1e-12).sum(-1)

    def distance(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        r"""Distance :math:`\gamma - f(h, r, t)` (smaller is more plausible); arguments broadcast."""
        head, relation, tail = torch.broadcast_tensors(head, relation, tail)
        return self._dist(self._move(head, relation, inverse=False), self.entity[tail])

    def score(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        r"""Plausibility :math:`f(h, r, t) = \gamma - \text{distance}` (larger is more plausible)."""
        return self.gamma - self.distance(head, relation, tail)

    def forward(self, triples: Tensor, negatives: Tensor, negative_mask: Optional[Tensor] = None,
                adversarial_temperature: float = 1.0) -> Tensor:
        r"""Self-adversarial negative-sampling loss (mean over the positives).

        Each negative must share the relation of its positive and its head or its tail (as drawn by
        :func:`sample_negatives`); the moved positive entity (:math:`h \circ r` or :math:`t \circ \bar r`, exact
        since :math:`|e^{\mathrm{i}\theta}| = 1`) is then computed once per positive and compared with the
        :math:`K` corrupted entities.

        Args:
            triples (torch.LongTensor): positives :math:`(B, 3)` ``(head, relation, tail)``.
            negatives (torch.LongTensor): corrupted triples :math:`(B, K, 3)`.
            negative_mask (torch.BoolTensor, optional): :math:`(B, K)`, :obj:`False` drops a negative (e.g. a
                corruption that is a true triple). (default: :obj:`None`)
            adversarial_temperature (float, optional): :math:`\alpha`; 0 weights the negatives uniformly.
                (default: :obj:`1.0`)
        """
        h, r, t = triples[:, None, 0], triples[:, None, 1], triples[:, None, 2]
        tail_side = negatives[..., 0] == h  # the head is kept: the tail was corrupted
        if not (negatives[..., 1] == r).all() or not (tail_side | (negatives[..., 2] == t)).all():
            raise ValueError("Expected every negative to keep the relation and the head or the tail of its "
                             "positive (got a negative that changes more)")
        op = self._relation_operator() if self.score_name == 'rotate' else None
        hr = self._move(h, r, inverse=False, op=op)  # (B, 1, d)
        tr = self._move(t, r, inverse=True, op=op)
        pos = self.gamma - self._dist(hr, self.entity[t]).squeeze(1)
        if bool((tail_side == tail_side[:, :1]).all()):  # one side per positive (sample_negatives): broadcast
            moved = torch.where(tail_side[:, :1, None], hr, tr)  # (B, 1, d)
        else:
            moved = torch.where(tail_side[..., None], hr, tr)  # (B, K, d)
        other = self.entity[torch.where(tail_side, negatives[..., 2], negatives[..., 0])]
        neg = self.gamma - self._dist(moved, other)
        logits = adversarial_temperature * neg.detach()
        if negative_mask is not None:
            logits = logits.masked_fill(~negative_mask, float('-inf'))
        weight = torch.softmax(logits, dim=-1).nan_to_num(0.0)  # a row without valid negatives gets weight 0
        neg_loss = -(weight * F.logsigmoid(-neg)).sum(-1)
        return (-F.logsigmoid(pos) + neg_loss).mean()

    @torch.no_grad()
    def ranks(self, triples: Tensor, known: Optional[Tensor] = None, side: str = 'tail') -> Tensor:
        """Filtered rank of each triple's true ``side`` entity among all entities (1 = best): candidates forming a
        triple of ``known`` (other than the triple itself) are skipped; ties count against the true entity."""
        if side not in ('head', 'tail'):
            raise ValueError(f"Expected 'side' to be 'head' or 'tail' (got {side!r})")
        cand = torch.arange(self.num_entities, device=triples.device)
        h, r, t = triples[:, :1], triples[:, 1:2], triples[:, 2:]
        scores = self.score(cand[None], r, t) if side == 'head' else self.score(h, r, cand[None])
        true = triples[:, 0] if side == 'head' else triples[:, 2]
        true_score = scores.gather(1, true[:, None])
        better = scores >= true_score
        better[torch.arange(triples.size(0)), true] = False
        if known is not None:
            filt = _triple_key(_corrupt(triples, cand, side), self.num_entities, self.num_relations)
            better &= ~torch.isin(filt, _triple_key(known, self.num_entities, self.num_relations))
        return better.sum(1) + 1

    def extra_repr(self) -> str:
        return (f'{self.num_entities}, {self.num_relations}, dim={self.dim}, score={self.score_name!r}, '
                f'gamma={self.gamma}')


def _triple_key(triples: Tensor, num_entities: int, num_relations: int) -> Tensor:
    return (triples[..., 0] * num_relations + triples[..., 1]) * num_entities + triples[..., 2]


def _corrupt(triples: Tensor, entities: Tensor, side: str) -> Tensor:
    """Every triple with its ``side`` replaced by each of ``entities``: :math:`(B, E, 3)`."""
    out = triples[:, None, :].repeat(1, entities.numel(), 1)
    out[..., 0 if side == 'head' else 2] = entities[None]
    return out


def sample_negatives(triples: Tensor, num_entities: int, num_negatives: int,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Corrupts each triple ``num_negatives`` times by replacing its head or its tail with a uniformly drawn
    entity; the side is drawn once per triple (head or tail with probability 1/2, as RotatE's alternating
    head-batch / tail-batch modes), which lets the loss broadcast the moved positive over its negatives.

    Shapes:
        - **input:** :math:`(B, 3)`; **output:** :math:`(B, K, 3)`
    """
    b = triples.size(0)
    ent = torch.randint(num_entities, (b, num_negatives), generator=generator)
    head_side = (torch.rand(b, 1, generator=generator) < 0.5).expand(b, num_negatives)
    neg = triples[:, None, :].repeat(1, num_negatives, 1)
    neg[..., 0] = torch.where(head_side, ent, neg[..., 0])
    neg[..., 2] = torch.where(head_side, neg[..., 2], ent)
    return neg


def train_kg_embedding_model(kg: ElementKG, model: str = 'rotate', dim: int = 128, epochs: int = 60,
                             negatives: int = 32, lr: float = 0.01, gamma: float = 6.0,
                             adversarial_temperature: float = 1.0, batch_size: Optional[int] = 512,
                             seed: int = 0) -> Tuple[KGEmbeddingModel, List[float]]:
    r"""Trains a :class:`KGEmbeddingModel` on ``kg.triples`` with Adam and returns it with the loss per epoch.

    Each epoch visits every triple once in shuffled mini-batches (``batch_size`` :obj:`None`: one full batch);
    negatives are drawn afresh by :func:`sample_negatives` and corruptions that are true triples of the KG are
    dropped (filtered sampling: in this small, dense KG, e.g. ``(Period2, isPeriodOf, N)`` is a likely corruption of
    ``(Period2, isPeriodOf, C)``). All randomness comes from generators seeded with ``seed`` (global RNG untouched).
    The defaults take a few seconds on one CPU core for the element KG and reach a filtered MRR of 1.0 on its
    triples with both scores (the KG is small enough to be memorised).
    """
    for name, value in (('epochs', epochs), ('negatives', negatives)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected '{name}' to be a positive int (got {value!r})")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"Expected 'batch_size' to be a positive int or None (got {batch_size!r})")
    gen = torch.Generator().manual_seed(seed)
    net = KGEmbeddingModel(kg.num_entities, kg.num_relations, dim=dim, score=model, gamma=gamma, generator=gen)
    triples = kg.triples
    known = _triple_key(triples, kg.num_entities, kg.num_relations)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    bs = triples.size(0) if batch_size is None else batch_size
    history = []
    for _ in range(epochs):
        perm = torch.randperm(triples.size(0), generator=gen)
        total = 0.0
        for start in range(0, triples.size(0), bs):
            pos = triples[perm[start:start + bs]]
            neg = sample_negatives(pos, kg.num_entities, negatives, gen)
            mask = ~torch.isin(_triple_key(neg, kg.num_entities, kg.num_relations), known)
            loss = net(pos, neg, mask, adversarial_temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * pos.size(0)
        history.append(total / triples.size(0))
    return net, history


def train_kg_embedding(kg: ElementKG, model: str = 'rotate', dim: int = 128, epochs: int = 60,
                       negatives: int = 32, seed: int = 0, **kwargs) -> Tuple[Tensor, Tensor]:
    r"""Trains TransE or RotatE embeddings of ``kg`` (see :func:`train_kg_embedding_model` for the other options:
    ``lr``, ``gamma``, ``adversarial_temperature``, ``batch_size``).

    Returns:
        ``(entity, relation)``: detached tensors. ``entity`` is :math:`(\text{num\_entities}, d)`; for RotatE its
        first :math:`d/2` columns are the real parts and the last :math:`d/2` the imaginary parts of the complex
        entity vectors. ``relation`` is :math:`(\text{num\_relations}, d)` for TransE (translations) and
        :math:`(\text{num\_relations}, d/2)` for RotatE: the rotation **phases** in radians, :math:`\theta_r`, so
        that ``dim=128`` gives KCL's ``RotatE_128_64`` shapes (KCL stores the phases scaled by
        :math:`(\gamma + 2)/(d/2)/\pi`; only the scale differs).

    Example:
        >>> from graphcl.molecules.element_kg import build_element_kg
        >>> ent, rel = train_kg_embedding(build_element_kg(), dim=16, epochs=2)
        >>> ent.shape[1], rel.shape[1]
        (16, 8)
    """
    net, _ = train_kg_embedding_model(kg, model=model, dim=dim, epochs=epochs, negatives=negatives, seed=seed,
                                      **kwargs)
    return net.entity.detach().clone(), net.relation.detach().clone()
