r"""ColdStartCL: adaptive feature selection, field fusion and contrastive views for cold-start recommendation."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from recbole.model.abstract_recommender import GeneralRecommender
from recbole.utils import InputType
from torch import Tensor, nn

from graphcl.losses import info_nce
from graphcl.nn import BackboneConv

__all__ = ['ColdStartCL', 'FUSIONS', 'GATES', 'LOSS_TYPES', 'field_dropout_mask', 'masked_softmax']

#: Values of the ``fusion`` key: attention across fields, gated MLP, or the plain weighted sum (no fusion).
FUSIONS = ('attention', 'mlp', 'sum')
#: Values of the ``gate`` key: per-example softmax over fields, or uniform weights (no gate).
GATES = ('softmax', 'none')
#: Values of the ``loss_type`` key: softmax over all items, or BPR with one uniform negative.
LOSS_TYPES = ('CE', 'BPR')
#: Hours of the day per bucket of the ``hour`` context field.
_HOURS_PER_BUCKET = 4


def masked_softmax(logits: Tensor, mask: Tensor, temperature: float = 1.0) -> Tensor:
    r"""Softmax over the last dimension restricted to ``mask``: masked entries get weight 0, the others sum to 1;
    a row with no entry left gets all zeros.

    Example:
        >>> masked_softmax(torch.zeros(1, 3), torch.tensor([[True, False, True]])).tolist()
        [[0.5, 0.0, 0.5]]
    """
    w = torch.softmax((logits / temperature).masked_fill(~mask, float('-inf')), dim=-1)
    return torch.nan_to_num(w, nan=0.0)


def field_dropout_mask(available: Tensor, p: float, drop_first: bool = False,
                       generator: Optional[torch.Generator] = None) -> Tensor:
    r"""A view's field mask: each available field is kept with probability :math:`1 - p`, column 0 (the ID
    field) is always dropped with ``drop_first``; a row keeps at least one available field (other than the
    ID field with ``drop_first``) when it has one.

    Args:
        available (torch.Tensor): :math:`(B, F)` bool, the fields an example has.
        p (float): drop probability in :math:`[0, 1]`.
        drop_first (bool, optional): drop column 0 (cold-start view). (default: :obj:`False`)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"Expected field dropout 'p' in [0, 1] (got {p})")
    candidates = available.clone()
    if drop_first:
        candidates[:, 0] = False
    keep = candidates & (torch.rand(candidates.shape, generator=generator, device=available.device) >= p)
    empty = ~keep.any(dim=1) & candidates.any(dim=1)
    if empty.any():  # keep one random candidate field in rows that lost all of them
        score = torch.rand(candidates.shape, generator=generator, device=available.device) * candidates
        pick = F.one_hot(score.argmax(dim=1), candidates.size(1)).bool()
        keep = torch.where(empty[:, None], pick, keep)
    return keep


class _FieldEncoder(nn.Module):
    r"""One side (users or items): embeddings of its fields, the gate and the fusion.

    Each field :math:`f` of entity :math:`x` is a set of tokens (one for a categorical field, several for a
    multi-valued one such as genres; none when missing); its embedding :math:`e_f` is the mean of its token
    embeddings. With the available-field mask :math:`m` and the gate MLP :math:`g` over the concatenated
    embeddings:

    .. math::
        w = \mathrm{softmax}_{m}(g([e_1; \dots; e_F]) / T), \qquad
        R_{gate} = \mathrm{KL}(w \,\Vert\, \mathcal{U}_m)

    and the fused representation is :math:`\sum_f w_f e_f` (``sum``), :math:`\sum_f w_f (e_f + a_f)` with
    :math:`a` = multi-head self-attention across the fields (``attention``), or
    :math:`\mathrm{MLP}([F w_1 e_1; \dots; F w_F e_F])` (``mlp``).
    """

    def __init__(self, names: Sequence[str], tables: Sequence[Tensor], vocab: Sequence[int], dim: int,
                 gate: str, fusion: str, gate_temperature: float, n_heads: int):
        super().__init__()
        self.names = list(names)
        self.gate, self.fusion, self.gate_temperature = gate, fusion, float(gate_temperature)
        for i, table in enumerate(tables):
            self.register_buffer(f'table_{i}', table, persistent=False)
        self.embeddings = nn.ModuleList(nn.Embedding(n, dim, padding_idx=0) for n in vocab)
        n_fields = len(self.names)
        self.field_pos = nn.Parameter(torch.zeros(n_fields, dim))
        self.gate_mlp = (nn.Sequential(nn.Linear(n_fields * dim, dim), nn.ReLU(), nn.Linear(dim, n_fields))
                         if gate == 'softmax' else None)
        self.attention = nn.MultiheadAttention(dim, n_heads, batch_first=True) if fusion == 'attention' else None
        self.mlp = (nn.Sequential(nn.Linear(n_fields * dim, dim), nn.GELU(), nn.Linear(dim, dim))
                    if fusion == 'mlp' else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in self.embeddings:
            nn.init.xavier_normal_(emb.weight)
            with torch.no_grad():
                emb.weight[0].zero_()
        nn.init.normal_(self.field_pos, std=0.02)
        for module in (self.gate_mlp, self.mlp):
            for layer in (module or []):
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
        if self.attention is not None:
            self.attention._reset_parameters()

    def extra_repr(self) -> str:
        return f'fields={self.names}, gate={self.gate!r}, fusion={self.fusion!r}'

    def fields(self, ids: Tensor) -> Tuple[Tensor, Tensor]:
        """``(embeddings (B, F, d), available (B, F) bool)`` of the entities ``ids``."""
        embs, avail = [], []
        for i, emb in enumerate(self.embeddings):
            tokens = getattr(self, f'table_{i}')[ids]  # (B, L), 0 = no token
            present = (tokens > 0).float()
            count = present.sum(dim=1, keepdim=True)
            embs.append((emb(tokens) * present[..., None]).sum(dim=1) / count.clamp(min=1))
            avail.append(count[:, 0] > 0)
        return torch.stack(embs, dim=1), torch.stack(avail, dim=1)

    def weights(self, e: Tensor, mask: Tensor) -> Tensor:
        """Gate weights :math:`(B, F)` of the (masked) field embeddings ``e``: zero on masked fields, summing to 1
        over the others (uniform without a gate)."""
        if self.gate_mlp is None:
            return masked_softmax(torch.zeros_like(mask, dtype=e.dtype), mask)
        return masked_softmax(self.gate_mlp(e.flatten(1)), mask, self.gate_temperature)

    def forward(self, ids: Tensor, keep: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """``(representation (B, d), weights (B, F), mask (B, F))``; ``keep`` restricts the available fields."""
        e, mask = self.fields(ids)
        return self.fuse(e, mask if keep is None else mask & keep)

    def fuse(self, e: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward` from the field embeddings ``e`` of :meth:`fields` and the fields to use, ``mask``."""
        e = e * mask[..., None]
        w = self.weights(e, mask)
        if self.fusion == 'sum':
            return (w[..., None] * e).sum(dim=1), w, mask
        if self.fusion == 'mlp':
            return self.mlp((w[..., None] * e * e.size(1)).flatten(1)), w, mask
        x = e + self.field_pos
        pad = ~mask & mask.any(dim=1, keepdim=True)  # rows without any field attend to everything (zeros)
        a, _ = self.attention(x, x, x, key_padding_mask=pad, need_weights=False)
        return (w[..., None] * (e + a)).sum(dim=1), w, mask


def _gate_kl(w: Tensor, mask: Tensor) -> Tensor:
    r"""Mean :math:`\mathrm{KL}(w \Vert \mathcal{U}_m) = \log |m| - H(w)` over the rows that have a field."""
    n = mask.sum(dim=1)
    rows = n > 0
    entropy = -(w * torch.log(w.clamp(min=1e-12))).sum(dim=1)
    return (torch.log(n[rows].float()) - entropy[rows]).mean() if rows.any() else w.sum() * 0


class ColdStartCL(GeneralRecommender):
    r"""ColdStartCL, our model for `"Cold-start recommendation with adaptive feature fusion and contrastive
    learning" <https://arxiv.org/abs/2502.03664>`_ (only the abstract is public; the design is documented in
    ``docs/coldstart.md``).

    A user is the fields ID, ``user_feature_fields`` (ml-100k: age bucket, gender, occupation, zip prefix) and
    three context fields from the timestamps of its *training* interactions (hour bucket and weekday of the last
    one, :math:`\lfloor\log_2\rfloor` bucket of their number); an item is ID and ``item_feature_fields``
    (release-year bucket, genres, title words). Per side, a gate weights the fields per example and a fusion
    combines them (:class:`_FieldEncoder`); scores are :math:`s(u, i) = \langle r_u, r_i \rangle + b_i`. The ID
    field of an entity without training interactions is treated as missing, so cold users stand on side
    information.

    Training loss, with view 1 = field dropout (probability ``field_dropout``) and view 2 = field dropout plus
    ID dropout (probability ``id_dropout``, the simulated cold start), for the batch's users and positive items:

    .. math::
        L = L_{rec} + \lambda\,[\mathrm{InfoNCE}(r^{(1)}_U, r^{(2)}_U) + \mathrm{InfoNCE}(r^{(1)}_I, r^{(2)}_I)]
        + \gamma\,(R_{gate}^U + R_{gate}^I) + \mu \lVert \Theta_{batch} \rVert^2

    with :math:`L_{rec}` the softmax cross-entropy over all items (``CE``) or BPR with one uniform negative,
    InfoNCE = :func:`graphcl.losses.info_nce` (cosine, temperature ``cl_temperature``).

    With ``rec_id_dropout`` > 0 the recommendation loss sees each batch user without its ID field with that
    probability (the input dropout of DropoutNet, Volkovs et al., NeurIPS 2017): the scores themselves, not only
    the contrastive view, are trained for users who stand on side information.

    With ``item_bias`` every item with training interactions gets a learned bias :math:`b_i` (0 for the others),
    :math:`s(u, i) = \langle r_u, r_i \rangle + b_i`: the per-item popularity path of matrix factorisation with
    biases (Koren et al., IEEE Computer 2009), which ranks items for a user whose own fields say little.
    With ``shared_user_vector`` a learned vector :math:`c` is added to every user's representation,
    :math:`s(u, i) = \langle r_u + c, r_i \rangle`: :math:`\langle c, r_i \rangle` is a popularity prior computed
    from the item's fields.

    With ``graph_layers`` :math:`= L > 0` the fused representations of every user and item,
    :math:`H^{(0)} = [R_U; R_I]`, are propagated over the user-item graph of the *training* interactions by
    :math:`L` :class:`graphcl.nn.BackboneConv` layers in ``"gcn"`` mode (symmetric normalisation with self-loops,
    no bias, no activation, weights initialised to the identity) and combined by the layer mean of LightGCN
    (He et al., SIGIR 2020):

    .. math::
        H^{(l)} = \hat{D}^{-1/2} (A + I) \hat{D}^{-1/2} H^{(l-1)} W_l, \qquad
        [R'_U; R'_I] = \frac{1}{L + 1} \sum_{l=0}^{L} H^{(l)}

    and :math:`R'` replaces :math:`R` in the scores (the gate, the contrastive views and their InfoNCE stay on the
    fused representations). A user without training interactions has only its self-loop, so its representation
    stays a function of its own side information.
    """

    input_type = InputType.POINTWISE

    def __init__(self, config: Any, dataset: Any):
        super().__init__(config, dataset)
        self.embedding_size = int(config['embedding_size'])
        self.loss_type = str(config['loss_type'])
        self.gate, self.fusion = str(config['gate']), str(config['fusion'])
        for key, value, valid in (('loss_type', self.loss_type, LOSS_TYPES), ('gate', self.gate, GATES),
                                  ('fusion', self.fusion, FUSIONS)):
            if value not in valid:
                raise ValueError(f"Expected '{key}' to be one of {list(valid)} (got {value!r})")
        self.field_dropout, self.id_dropout = float(config['field_dropout']), float(config['id_dropout'])
        self.rec_id_dropout = float(config['rec_id_dropout'])
        for key, value in (('field_dropout', self.field_dropout), ('id_dropout', self.id_dropout),
                           ('rec_id_dropout', self.rec_id_dropout)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Expected '{key}' in [0, 1] (got {value})")
        self.cl_weight, self.cl_temperature = float(config['cl_weight']), float(config['cl_temperature'])
        self.gate_reg_weight, self.reg_weight = float(config['gate_reg_weight']), float(config['reg_weight'])
        if self.cl_temperature <= 0:
            raise ValueError(f"Expected 'cl_temperature' > 0 (got {self.cl_temperature})")
        transforms = dict(config['feature_transforms'] or {})
        user_names, user_tables, user_vocab = self._side(dataset, self.USER_ID, config['user_feature_fields'],
                                                         transforms)
        for name, table, vocab in self._context(dataset):
            user_names.append(name)
            user_tables.append(table)
            user_vocab.append(vocab)
        item_names, item_tables, item_vocab = self._side(dataset, self.ITEM_ID, config['item_feature_fields'],
                                                         transforms)
        dim, heads = self.embedding_size, int(config['n_heads'])
        temperature = float(config['gate_temperature'])
        self.users = _FieldEncoder(user_names, user_tables, user_vocab, dim, self.gate, self.fusion, temperature,
                                   heads)
        self.items = _FieldEncoder(item_names, item_tables, item_vocab, dim, self.gate, self.fusion, temperature,
                                   heads)
        self.shared_user = nn.Parameter(torch.zeros(dim)) if config['shared_user_vector'] else None
        self.item_bias = nn.Embedding(self.n_items, 1, padding_idx=0) if config['item_bias'] else None
        if self.item_bias is not None:
            nn.init.zeros_(self.item_bias.weight)
        self.graph_layers = int(config['graph_layers'])
        if self.graph_layers < 0:
            raise ValueError(f"Expected 'graph_layers' >= 0 (got {self.graph_layers})")
        self.convs = nn.ModuleList(BackboneConv(dim, dim, mode='gcn', bias=False, cached=True)
                                   for _ in range(self.graph_layers))
        for conv in self.convs:
            nn.init.eye_(conv.lin.weight)
        edges = None
        if self.graph_layers:  # the distinct training (user, item) pairs, both directions; items after the users
            pairs = torch.stack([dataset.inter_feat[self.USER_ID], dataset.inter_feat[self.ITEM_ID] + self.n_users])
            pairs = torch.unique(pairs, dim=1)
            edges = torch.cat([pairs, pairs.flip(0)], dim=1)
        self.register_buffer('graph_edges', edges, persistent=False)
        # every item's (and with a graph every user's) (representation, weights, mask), kept in evaluation
        self._cache: Optional[Tuple[Any, ...]] = None

    # ----------------------------------------------------------------------------------------------- features
    @staticmethod
    def _transform_vocab(tokens: np.ndarray, rule: Sequence[Any], field: str) -> np.ndarray:
        """New id per original token id (0 = missing) under ``rule``: ``['bucket', [bounds]]`` or
        ``['prefix', n]``."""
        kind = rule[0] if rule else None
        if kind == 'bucket':
            values = np.array([float(t) if str(t).replace('.', '', 1).isdigit() else np.nan for t in tokens])
            ids = np.searchsorted(np.asarray(rule[1], dtype=float), values, side='right') + 1
            return np.where(np.isnan(values), 0, ids)
        if kind == 'prefix':
            prefixes = np.array([str(t)[:int(rule[1])] for t in tokens])
            _, inverse = np.unique(prefixes, return_inverse=True)
            return inverse + 1
        raise ValueError(f"Expected 'feature_transforms' of '{field}' to be ['bucket', [bounds]] or "
                         f"['prefix', n] (got {rule!r})")

    def _side(self, dataset: Any, id_field: str, fields: Optional[Sequence[str]],
              transforms: Dict[str, Any]) -> Tuple[List[str], List[Tensor], List[int]]:
        """Names, token tables (rows = entity ids) and vocabulary sizes of the ID field and the features of one
        side; fields the dataset lacks are skipped."""
        n = dataset.num(id_field)
        names, tables, vocab = ['id'], [torch.arange(n)[:, None]], [n]
        counts = np.bincount(dataset.inter_feat[id_field].numpy(), minlength=n)
        tables[0][counts == 0] = 0  # no training interaction: the ID field is missing (cold start)
        feat = dataset.get_user_feature() if id_field == self.USER_ID else dataset.get_item_feature()
        for field in fields or []:
            if feat is None or field not in feat.columns:
                continue
            ids = feat[field].long()
            ids = ids[:, None] if ids.dim() == 1 else ids
            tokens = np.asarray(dataset.field2id_token[field])
            size = len(tokens)
            if field in transforms:
                mapping = self._transform_vocab(tokens, transforms[field], field)
                mapping[0] = 0
                ids, size = torch.from_numpy(mapping)[ids], int(mapping.max()) + 1
            names.append(field)
            tables.append(ids)
            vocab.append(size)
        return names, tables, vocab

    def _context(self, dataset: Any) -> List[Tuple[str, Tensor, int]]:
        """Context fields of the users from their training interactions: hour bucket and weekday of the last one
        (missing without a time field or an interaction) and the :math:`\\lfloor\\log_2\\rfloor + 1` bucket of
        their number. A user without training interactions has all three missing, as its ID: an embedding that no
        training example reaches (a "none" bucket) would be noise at test time."""
        n = dataset.user_num
        uid = dataset.inter_feat[self.USER_ID].numpy()
        count = np.bincount(uid, minlength=n)
        activity = np.where(count > 0, np.floor(np.log2(np.maximum(count, 1))) + 1, 0).astype(np.int64)
        out = [('activity', torch.from_numpy(activity)[:, None], int(activity.max()) + 1)]
        time_field = dataset.time_field
        if time_field and time_field in dataset.inter_feat.columns:
            last = np.full(n, -np.inf)
            np.maximum.at(last, uid, dataset.inter_feat[time_field].numpy().astype(float))
            seen = np.isfinite(last)
            seconds = np.where(seen, last, 0).astype(np.int64)
            hour = (seconds // 3600) % 24 // _HOURS_PER_BUCKET + 1
            weekday = (seconds // 86400 + 3) % 7 + 1  # 1970-01-01 was a Thursday: Monday = 1
            out += [('hour', torch.from_numpy(np.where(seen, hour, 0))[:, None], 24 // _HOURS_PER_BUCKET + 1),
                    ('weekday', torch.from_numpy(np.where(seen, weekday, 0))[:, None], 8)]
        return out

    # ----------------------------------------------------------------------------------------------- model API
    def _views(self, side: _FieldEncoder, ids: Tensor) -> Tuple[Tensor, Tensor]:
        """The two contrastive views of ``ids``: field dropout; field dropout plus ID dropout."""
        e, available = side.fields(ids)
        keep1 = field_dropout_mask(available, self.field_dropout)
        without_id = available.clone()
        without_id[:, 0] &= torch.rand(ids.size(0), device=ids.device) >= self.id_dropout
        keep2 = field_dropout_mask(without_id, self.field_dropout)
        return side.fuse(e, available & keep1)[0], side.fuse(e, available & keep2)[0]

    def _id_keep(self, users: Tensor, id_dropout: float) -> Optional[Tensor]:
        """The field mask of DropoutNet's input dropout: each of ``users`` loses its ID field with probability
        ``id_dropout`` (``None`` when it is 0)."""
        if id_dropout <= 0:
            return None
        keep = torch.ones(users.size(0), len(self.users.names), dtype=torch.bool, device=users.device)
        keep[:, 0] = torch.rand(users.size(0), device=users.device) >= id_dropout
        return keep

    def _propagated(self, users: Tensor, keep: Optional[Tensor]) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """``graph_layers`` > 0: ``(representation, weights, mask)`` of every user and of every item after the
        propagation over the training graph, ``users`` encoded with the field mask ``keep``."""
        device = self.users.field_pos.device
        user_keep = None
        if keep is not None:
            user_keep = torch.ones(self.n_users, keep.size(1), dtype=torch.bool, device=device)
            user_keep[users] = keep
        user_side = self.users(torch.arange(self.n_users, device=device), user_keep)
        item_side = self.items(torch.arange(self.n_items, device=device))
        h = torch.cat([user_side[0], item_side[0]])
        layers = [h]
        for conv in self.convs:
            layers.append(conv(layers[-1], self.graph_edges))
        h = torch.stack(layers).mean(dim=0)
        return (h[:self.n_users], *user_side[1:]), (h[self.n_users:], *item_side[1:])

    def encode(self, users: Tensor, id_dropout: float = 0.0) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        r"""``((r_u + c, gate weights, mask) of users, (r_i, gate weights, mask) of every item)``, the
        representations the scores use: each distinct user encoded once, ``c`` the shared user vector
        (``shared_user_vector``; zero without it), propagated over the user-item graph with ``graph_layers``. With
        ``id_dropout`` each distinct user's ID field is dropped with that probability (DropoutNet's input
        dropout). In evaluation mode without autograd and without dropout the item side (with a graph: both
        sides) is computed once and kept until the next :meth:`train` / :meth:`eval` / :meth:`load_state_dict`
        (RecBole ranks one or two users per full-sort batch)."""
        distinct, inverse = torch.unique(users, return_inverse=True)
        keep = self._id_keep(distinct, id_dropout)
        cacheable = keep is None and not self.training and not torch.is_grad_enabled()
        if cacheable and self._cache is not None:
            tables = self._cache
        elif self.graph_layers:
            tables = self._propagated(distinct, keep)
        else:
            tables = (None, self.items(torch.arange(self.n_items, device=users.device)))
        if cacheable:
            self._cache = tables
        user_side, items = tables
        if user_side is None:
            u, w, m = self.users(distinct, keep)
        else:
            u, w, m = (t[distinct] for t in user_side)
        if self.shared_user is not None:
            u = u + self.shared_user
        return (u[inverse], w[inverse], m[inverse]), items

    def bias(self, items: Optional[Tensor] = None) -> Tensor:
        r"""The item biases :math:`b_i` of ``items`` (default: every item, padding included) (zeros without
        ``item_bias``); an item without training interactions (its ID field missing) gets 0."""
        if items is None:
            items = torch.arange(self.n_items, device=self.users.field_pos.device)
        if self.item_bias is None:
            return torch.zeros(items.shape, device=items.device)
        ids = self.items.table_0[items, 0]
        return torch.where(ids > 0, self.item_bias(ids).squeeze(-1), 0.0)

    def calculate_loss(self, interaction: Any) -> Tensor:
        users, pos = interaction[self.USER_ID], interaction[self.ITEM_ID]
        (u, wu, mu), (all_items, wi, mi) = self.encode(users, self.rec_id_dropout)
        if self.loss_type == 'CE':
            logits = u @ all_items.t() + self.bias()
            logits[:, 0] = float('-inf')  # padding
            loss = F.cross_entropy(logits, pos)
            item_rows = all_items[pos]
        else:
            neg = torch.randint(1, self.n_items, pos.shape, device=pos.device)
            item_rows, neg_rows = all_items[pos], all_items[neg]
            margin = (u * item_rows).sum(-1) + self.bias(pos) - (u * neg_rows).sum(-1) - self.bias(neg)
            loss = -F.logsigmoid(margin).mean()
        if self.gate_reg_weight > 0 and self.gate != 'none':
            loss = loss + self.gate_reg_weight * (_gate_kl(wu, mu) + _gate_kl(wi, mi))
        if self.reg_weight > 0:
            loss = loss + self.reg_weight * (u.pow(2).sum(-1).mean() + item_rows.pow(2).sum(-1).mean())
        if self.cl_weight > 0:
            uu, ii = torch.unique(users), torch.unique(pos)
            loss = loss + self.cl_weight * (info_nce(*self._views(self.users, uu), self.cl_temperature)
                                            + info_nce(*self._views(self.items, ii), self.cl_temperature))
        return loss

    def predict(self, interaction: Any) -> Tensor:
        (u, _, _), (items, _, _) = self.encode(interaction[self.USER_ID])
        return (u * items[interaction[self.ITEM_ID]]).sum(-1) + self.bias(interaction[self.ITEM_ID])

    def train(self, mode: bool = True) -> 'ColdStartCL':
        self._cache = None
        return super().train(mode)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self._cache = None
        return super().load_state_dict(*args, **kwargs)

    def full_sort_predict(self, interaction: Any) -> Tensor:
        (u, _, _), (items, _, _) = self.encode(interaction[self.USER_ID])
        return (u @ items.t() + self.bias()).view(-1)

    @torch.no_grad()
    def field_importance(self, users: Optional[Tensor] = None,
                         items: Optional[Tensor] = None) -> Dict[str, Dict[str, float]]:
        r"""Mean gate weight of every field, ``{'user': {field: w}, 'item': {field: w}}``, over ``users`` and
        ``items`` (default: every real user and item); each side's weights sum to 1."""
        device = self.users.field_pos.device
        out = {}
        for key, side, ids, n in (('user', self.users, users, self.n_users), ('item', self.items, items,
                                                                               self.n_items)):
            ids = torch.arange(1, n, device=device) if ids is None else ids.to(device)
            w = side(ids)[1]
            out[key] = {name: float(v) for name, v in zip(side.names, w.mean(dim=0).tolist())}
        return out

    def extra_repr(self) -> str:
        return (f'embedding_size={self.embedding_size}, gate={self.gate!r}, fusion={self.fusion!r}, '
                f'graph_layers={self.graph_layers}, loss_type={self.loss_type!r}, user_fields={self.users.names}, '
                f'item_fields={self.items.names}')

