r"""SASRec on the project's backbone layer (:class:`graphcl.nn.TransformerEncoder`)."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
import torch.nn.functional as F
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType
from torch import Tensor, nn

from graphcl.nn.transformer_block import TransformerEncoder, map_recbole_state_dict

from ..config import train_stride

__all__ = ['SASRecBackbone']


def _cfg(config: Any, key: str, default: Any) -> Any:
    value = config[key]
    return default if value is None else value


class SASRecBackbone(SequentialRecommender):
    r"""SASRec (`"Self-Attentive Sequential Recommendation" <https://arxiv.org/abs/1808.09781>`_, Kang & McAuley,
    ICDM 2018) as a RecBole model whose transformer is :class:`graphcl.nn.TransformerEncoder` (the backbone layer
    in attention mode, dense fast path through ``scaled_dot_product_attention``).

    For item ids :math:`s_1, \dots, s_n` with embeddings :math:`\mathbf{E}` and positions :math:`\mathbf{P}`:

    .. math::
        \mathbf{H}^{(0)} = \mathrm{drop}(\mathrm{LN}(\mathbf{E}_{s_t} + \mathbf{P}_t)), \quad
        \mathbf{H}^{(l+1)} = \mathrm{Block}_l(\mathbf{H}^{(l)}) \text{ (causal, padding masked)}

        \hat{y} = \operatorname{softmax}(\mathbf{E}\, \mathbf{h}_n), \quad
        \mathcal{L}_{rec} = -\log \hat{y}_{s_{n+1}}

    Parameter names match RecBole's ``SASRec`` except inside the encoder; :meth:`load_recbole_sasrec` loads a
    RecBole ``SASRec`` state dict (the encoder keys are renamed by
    :func:`graphcl.nn.transformer_block.map_recbole_state_dict`), after which both models give the same scores.

    Config keys (see ``recsys/models/SASRecBackbone.yaml``): ``n_layers``, ``n_heads``, ``hidden_size``,
    ``inner_size``, ``hidden_dropout_prob``, ``attn_dropout_prob``, ``hidden_act``, ``layer_norm_eps``,
    ``initializer_range``, ``loss_type`` (``'CE'`` only), ``train_stride``; ``train_neg_sample_args`` must be
    ``None`` (no negative sampling). Built through RecBole's own ``Config`` (``Config(model=SASRecBackbone,
    dataset=..., config_dict=...)``), the model gets the defaults of its YAML file (:mod:`recsys.compat`).

    ``train_stride`` :math:`s` (default 1) chooses the training samples. :func:`recsys.pipeline.load_data` keeps,
    per user, the last training prefix and every :math:`s`-th before it, and the recommendation loss of a kept
    sample is taken at its last :math:`\min(s, n)` positions (target of position :math:`t` is :math:`s_{t+1}`, of
    the last one the sample's target): the positions whose targets no later kept sample covers. Every training
    interaction is thus a target exactly once per epoch, over about :math:`s` times fewer sequences. :math:`s = 1`
    is RecBole's every-prefix training; :math:`s =` ``MAX_ITEM_LIST_LENGTH`` is one sample per window with the loss
    at every position, as the original SASRec. ``train_batch_size`` keeps counting targets (a strided batch holds
    about ``train_batch_size / s`` sequences: :func:`recsys.pipeline.sequences_per_batch`).

    Shapes:
        - **forward:** ``item_seq`` :math:`(B, L)`, ``item_seq_len`` :math:`(B)` -> :math:`(B, d)`
        - **full_sort_predict:** -> :math:`(B, |\mathcal{I}|)` (``n_items`` columns, padding included)
    """

    input_type = InputType.POINTWISE

    def __init__(self, config: Any, dataset: Any):
        sampling = config['train_neg_sample_args']
        if isinstance(sampling, dict) and str(sampling.get('distribution', 'none')).lower() not in ('none', ''):
            # RecBole's point-wise sampling adds rows whose item_id is a random negative: a cross-entropy
            # model would take them as targets
            raise ValueError(f"{type(self).__name__} trains with cross-entropy over all items: expected "
                             f"'train_neg_sample_args' to be None (got {sampling})")
        super().__init__(config, dataset)
        self.n_layers = int(config['n_layers'])
        self.n_heads = int(config['n_heads'])
        self.hidden_size = int(config['hidden_size'])
        self.inner_size = int(config['inner_size'])
        self.hidden_dropout_prob = float(config['hidden_dropout_prob'])
        self.attn_dropout_prob = float(config['attn_dropout_prob'])
        self.hidden_act = str(_cfg(config, 'hidden_act', 'gelu'))
        self.layer_norm_eps = float(_cfg(config, 'layer_norm_eps', 1e-12))
        self.initializer_range = float(_cfg(config, 'initializer_range', 0.02))
        self.loss_type = str(_cfg(config, 'loss_type', 'CE'))
        if self.loss_type != 'CE':
            raise ValueError(f"Expected 'loss_type' to be one of ['CE'] (got '{self.loss_type}')")
        self.train_stride = train_stride(config)

        self.item_embedding = nn.Embedding(self.n_items + self.num_special_tokens(config), self.hidden_size,
                                           padding_idx=0)
        self.position_embedding = nn.Embedding(self.max_seq_length, self.hidden_size)
        self.trm_encoder = TransformerEncoder(
            n_layers=self.n_layers, hidden=self.hidden_size, n_heads=self.n_heads, inner_size=self.inner_size,
            hidden_dropout=self.hidden_dropout_prob, attn_dropout=self.attn_dropout_prob,
            activation=self.hidden_act, layer_norm_eps=self.layer_norm_eps)
        self.LayerNorm = nn.LayerNorm(self.hidden_size, eps=self.layer_norm_eps)
        self.dropout = nn.Dropout(self.hidden_dropout_prob)
        self.loss_fct = nn.CrossEntropyLoss()
        self.apply(self._init_weights)

    # ----------------------------------------------------------------- construction
    def num_special_tokens(self, config: Any) -> int:
        """Extra embedding rows after the ``n_items`` real ids (subclasses: e.g. a ``[mask]`` token)."""
        return 0

    def _init_weights(self, module: nn.Module) -> None:
        """RecBole's SASRec initialisation: :math:`\\mathcal{N}(0, \\sigma^2)` weights, zero biases, unit LayerNorm."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.initializer_range)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    def load_recbole_sasrec(self, state_dict: Dict[str, Tensor]) -> None:
        r"""Load the weights of a RecBole ``SASRec`` (same sizes) into this model."""
        mapped = {k: v for k, v in state_dict.items() if not k.startswith('trm_encoder.')}
        mapped.update({f'trm_encoder.{k}': v
                       for k, v in map_recbole_state_dict(state_dict, prefix='trm_encoder.').items()})
        self.load_state_dict(mapped)

    # ----------------------------------------------------------------- encoder
    def encode(self, item_seq: Tensor) -> Tensor:
        r"""Hidden states at every position, :math:`(B, L, d)`."""
        positions = torch.arange(item_seq.size(1), device=item_seq.device).unsqueeze(0).expand_as(item_seq)
        x = self.item_embedding(item_seq) + self.position_embedding(positions)
        x = self.dropout(self.LayerNorm(x))
        return self.trm_encoder(x, key_padding_mask=item_seq != 0, causal=True)

    def forward(self, item_seq: Tensor, item_seq_len: Tensor) -> Tensor:
        r"""Sequence representation: the hidden state at the last item, :math:`(B, d)`."""
        return self.gather_indexes(self.encode(item_seq), item_seq_len - 1)

    def item_weight(self) -> Tensor:
        """Output embeddings of the ``n_items`` ids (special tokens excluded)."""
        return self.item_embedding.weight[:self.n_items]

    # ----------------------------------------------------------------- losses
    @staticmethod
    def shifted_targets(item_seq: Tensor, item_seq_len: Tensor, pos_items: Tensor, stride: int) -> Tensor:
        r"""Next-item target of the last :math:`\min(s, n)` positions of each sequence (:math:`s` = ``stride``,
        :math:`n` = its length): :math:`s_{t+1}` inside the sequence, the sample's target at the last item, ``0``
        elsewhere (earlier positions and padding). Shape :math:`(B, L)`."""
        targets = torch.zeros_like(item_seq)
        targets[:, :-1] = item_seq[:, 1:]
        rows = torch.arange(item_seq.size(0), device=item_seq.device)
        targets[rows, item_seq_len - 1] = pos_items
        positions = torch.arange(item_seq.size(1), device=item_seq.device).unsqueeze(0)
        end = item_seq_len.unsqueeze(1)
        counted = (positions < end) & (positions >= end - stride)
        return torch.where(counted, targets, torch.zeros_like(targets))

    def rec_loss(self, interaction: Any) -> Tuple[Tensor, Tensor]:
        r"""Cross-entropy over all items (mean over the counted targets, see ``train_stride``) and the sequence
        representation :math:`(B, d)` it used."""
        item_seq = interaction[self.ITEM_SEQ]
        item_seq_len = interaction[self.ITEM_SEQ_LEN]
        pos_items = interaction[self.POS_ITEM_ID]
        if self.train_stride > 1:
            hidden = self.encode(item_seq)
            targets = self.shifted_targets(item_seq, item_seq_len, pos_items, self.train_stride)
            valid = targets > 0
            logits = hidden[valid] @ self.item_weight().t()
            seq_output = self.gather_indexes(hidden, item_seq_len - 1)
            return F.cross_entropy(logits, targets[valid]), seq_output
        seq_output = self.forward(item_seq, item_seq_len)
        logits = seq_output @ self.item_weight().t()
        return self.loss_fct(logits, pos_items), seq_output

    def calculate_loss(self, interaction: Any) -> Tensor:
        """Training loss of one batch (scalar)."""
        return self.rec_loss(interaction)[0]

    # ----------------------------------------------------------------- scoring
    def predict(self, interaction: Any) -> Tensor:
        """Score of ``interaction[ITEM_ID]`` for each sequence, :math:`(B)`."""
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return (seq_output * self.item_embedding(interaction[self.ITEM_ID])).sum(dim=-1)

    def full_sort_predict(self, interaction: Any) -> Tensor:
        """Scores of all ``n_items`` ids for each sequence, :math:`(B, n_{items})`."""
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return seq_output @ self.item_weight().t()

    def extra_repr(self) -> str:
        return (f'n_items={self.n_items}, hidden_size={self.hidden_size}, n_layers={self.n_layers}, '
                f'n_heads={self.n_heads}, max_seq_length={self.max_seq_length}')
