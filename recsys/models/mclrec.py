r"""MCLRec: CL4SRec views plus two learnable MLP augmenters trained by a meta update."""
from __future__ import annotations

from typing import Any, Iterator, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..augment import AUGMENTATIONS, random_views
from ..losses import SIMILARITIES, gather_batch, margin_regularizer, sequence_info_nce
from .cl4srec import MASK_TOKENS
from .sasrec_backbone import SASRecBackbone, _cfg

__all__ = ['MCLRec', 'MLPAugmenter', 'REG_MODES']

#: Values of the ``reg_mode`` config key (see :meth:`MCLRec.regularizer`).
REG_MODES = ('code', 'paper')

Views = Tuple[Tensor, Tensor, Tensor, Tensor]


class MLPAugmenter(nn.Module):
    r"""MCLRec's learnable model augmenter: an MLP with GELU between layers and an L2-normalised output.

    .. math::
        w(h) = \frac{g(h)}{\lVert g(h) \rVert_2}, \quad
        g = W_3\,\mathrm{GELU}(W_2\,\mathrm{GELU}(W_1 h + b_1) + b_2) + b_3

    Args:
        sizes (sequence of int, optional): layer widths, first = input, last = output.
            (default: ``(64, 32, 16, 64)``)

    Shapes:
        - **input:** :math:`(B, d_0)`
        - **output:** :math:`(B, d_{-1})`, unit rows

    Example:
        >>> aug = MLPAugmenter((8, 4, 8))
        >>> aug(torch.randn(3, 8)).norm(dim=-1).allclose(torch.ones(3))
        True
    """

    def __init__(self, sizes: Sequence[int] = (64, 32, 16, 64)):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"Expected 'sizes' to hold at least two positive widths (got {list(sizes)})")
        self.sizes = sizes
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, h: Tensor) -> Tensor:
        for i, lin in enumerate(self.lins):
            h = lin(h)
            if i < len(self.lins) - 1:
                h = F.gelu(h)
        return F.normalize(h, dim=-1)

    def extra_repr(self) -> str:
        return f'sizes={list(self.sizes)}'


class MCLRec(SASRecBackbone):
    r"""MCLRec, `"Meta-optimized Contrastive Learning for Sequential Recommendation"
    <https://arxiv.org/abs/2304.07763>`_ (Qin et al., SIGIR 2023).

    Two data-augmented views (two different operators of crop / mask / reorder per sequence) are encoded,
    :math:`h_1, h_2`; two learnable augmenters :class:`MLPAugmenter` give :math:`z_1 = w_1(h_1)`,
    :math:`z_2 = w_2(h_2)`. With :math:`L_{con}` = :func:`recsys.losses.sequence_info_nce` and :math:`R` =
    :func:`recsys.losses.margin_regularizer`:

    .. math::
        L_{cl1} = L_{con}(h_1, h_2), \quad L_{cl2} = L_{con}(z_1, z_2) + L_{con}(h_1, z_2) + L_{con}(h_2, z_1)

        L_0 = L_{rec} + \lambda L_{cl1} + \beta L_{cl2} + w_0 R \quad\text{(encoder)}, \qquad
        L_1 = L_{cl2} + w_1 R \quad\text{(augmenters)}

    with the authors' code's weights by default: :math:`w_0 = 0.1\beta` (``encoder_reg_weight``; their encoder
    steps add :math:`\beta (L_{cl2} + 0.1 R)`) and :math:`w_1 = 0.1` (``augmenter_reg_weight``; their augmenter
    step adds :math:`L_{cl2} + 0.1 R`, without :math:`\beta`). The meta update (three optimiser steps per batch:
    encoder on :math:`L_0`, augmenters on :math:`L_1`, encoder on :math:`L_0`) lives in
    :class:`recsys.trainers.MCLRecTrainer`; ``joint: True`` trains everything with one optimiser on :math:`L_0`.
    The views of a batch are drawn once (:meth:`make_views`) and shared by the three steps, as in the authors'
    code where the data loader makes them. In RecBole's multi-process mode the encoded views of every rank are
    gathered (:meth:`encode_views`) before :math:`L_{cl1}`, :math:`L_{cl2}` and :math:`R`: their negatives and
    margins are the global batch's, as in one process.

    Config keys (``recsys/models/MCLRec.yaml``), besides SASRec's: ``lmd``, ``beta``, ``encoder_reg_weight``,
    ``augmenter_reg_weight``, ``use_rl`` (use :math:`R`), ``reg_mode`` (``'code'``: :math:`R` per anchor row summed
    over the three pairs of :math:`L_{cl2}`; ``'paper'``: batch-level on :math:`(z_1, z_2)`), ``tau``, ``sim``,
    ``augmenter_sizes``, ``crop_eta``, ``mask_gamma``, ``reorder_beta``, ``aug_ops``, ``mask_token``, ``joint``,
    ``augmenter_learning_rate``. The model's YAML also sets the authors' early-stopping metric,
    ``valid_metric: MRR@10``.
    """

    def __init__(self, config: Any, dataset: Any):
        super().__init__(config, dataset)
        self.lmd = float(_cfg(config, 'lmd', 0.0))
        self.beta = float(_cfg(config, 'beta', 0.1))
        if config['gamma'] is not None:
            raise ValueError(f"'gamma' is no longer read: set 'encoder_reg_weight' and 'augmenter_reg_weight', the "
                             f"weights of R in the encoder and augmenter losses (got gamma={config['gamma']})")
        self.encoder_reg_weight = float(_cfg(config, 'encoder_reg_weight', 0.1 * self.beta))
        self.augmenter_reg_weight = float(_cfg(config, 'augmenter_reg_weight', 0.1))
        self.use_rl = bool(_cfg(config, 'use_rl', True))
        self.reg_mode = str(_cfg(config, 'reg_mode', 'code'))
        if self.reg_mode not in REG_MODES:
            raise ValueError(f"Expected 'reg_mode' to be one of {REG_MODES} (got '{self.reg_mode}')")
        self.tau = float(_cfg(config, 'tau', 1.0))
        self.sim = str(_cfg(config, 'sim', 'dot'))
        if self.sim not in SIMILARITIES:
            raise ValueError(f"Expected 'sim' to be one of {SIMILARITIES} (got '{self.sim}')")
        self.crop_eta = float(_cfg(config, 'crop_eta', 0.5))
        self.mask_gamma = float(_cfg(config, 'mask_gamma', 0.5))
        self.reorder_beta = float(_cfg(config, 'reorder_beta', 0.8))
        self.aug_ops = tuple(_cfg(config, 'aug_ops', AUGMENTATIONS))
        self.mask_token_id = self.n_items if self._mask_token(config) == 'mask' else 0
        sizes = list(_cfg(config, 'augmenter_sizes', [self.hidden_size, 32, 16, self.hidden_size]))
        if sizes[0] != self.hidden_size or sizes[-1] != self.hidden_size:
            raise ValueError(f"Expected 'augmenter_sizes' to start and end with hidden_size={self.hidden_size} "
                             f"(got {sizes})")
        # PyTorch's default initialisation, as the authors' Extractor (built outside the model).
        self.augmenter1 = MLPAugmenter(sizes)
        self.augmenter2 = MLPAugmenter(sizes)

    @staticmethod
    def _mask_token(config: Any) -> str:
        value = str(_cfg(config, 'mask_token', 'pad'))
        if value not in MASK_TOKENS:
            raise ValueError(f"Expected 'mask_token' to be one of {MASK_TOKENS} (got '{value}')")
        return value

    def num_special_tokens(self, config: Any) -> int:
        return 1 if self._mask_token(config) == 'mask' else 0

    # ----------------------------------------------------------------- parameter groups
    def augmenter_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the two augmenters."""
        yield from self.augmenter1.parameters()
        yield from self.augmenter2.parameters()

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter except the augmenters' (embeddings, transformer, LayerNorm)."""
        skip = {id(p) for p in self.augmenter_parameters()}
        return (p for p in self.parameters() if id(p) not in skip)

    # ----------------------------------------------------------------- losses
    def make_views(self, interaction: Any) -> Views:
        r"""Two views per sequence, with two different operators: ``(seq1, len1, seq2, len2)``."""
        return random_views(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN], ops=self.aug_ops,
                            distinct=True, eta=self.crop_eta, gamma=self.mask_gamma, beta=self.reorder_beta,
                            mask_token=self.mask_token_id)

    def encode_views(self, views: Views) -> Tuple[Tensor, Tensor]:
        r"""Encoder outputs :math:`(h_1, h_2)` of the two views; in a process group, every rank's rows in rank order
        (:func:`recsys.losses.gather_batch`)."""
        seq1, len1, seq2, len2 = views
        return gather_batch(self.forward(seq1, len1), self.forward(seq2, len2))

    def _con(self, a: Tensor, b: Tensor) -> Tensor:
        return sequence_info_nce(a, b, self.tau, self.sim)

    def regularizer(self, h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
        r""":math:`R`: ``reg_mode='code'`` sums the per-row :func:`~recsys.losses.margin_regularizer` of
        :math:`(h_1, z_2)`, :math:`(h_2, z_1)`, :math:`(z_1, z_2)`; ``'paper'`` is the batch-level one of
        :math:`(z_1, z_2)`."""
        if self.reg_mode == 'paper':
            return margin_regularizer(z1, z2, self.tau, self.sim, per_row=False)
        return sum(margin_regularizer(a, b, self.tau, self.sim, per_row=True)
                   for a, b in ((h1, z2), (h2, z1), (z1, z2)))

    def contrast_terms(self, h1: Tensor, h2: Tensor) -> Tuple[Tensor, Tensor]:
        r""":math:`(L_{cl2}, R)` for encoded views :math:`h_1, h_2` (:math:`R = 0` when ``use_rl`` is off)."""
        z1, z2 = self.augmenter1(h1), self.augmenter2(h2)
        cl2 = self._con(z1, z2) + self._con(h1, z2) + self._con(h2, z1)
        reg = self.regularizer(h1, h2, z1, z2) if self.use_rl else h1.new_zeros(())
        return cl2, reg

    def encoder_loss(self, interaction: Any, views: Views) -> Tensor:
        r""":math:`L_0 = L_{rec} + \lambda L_{cl1} + \beta L_{cl2} + w_0 R` (:math:`w_0` = ``encoder_reg_weight``)."""
        loss, _ = self.rec_loss(interaction)
        h1, h2 = self.encode_views(views)
        if self.lmd != 0:
            loss = loss + self.lmd * self._con(h1, h2)
        if self.beta != 0 or (self.use_rl and self.encoder_reg_weight != 0):
            cl2, reg = self.contrast_terms(h1, h2)
            loss = loss + self.beta * cl2 + self.encoder_reg_weight * reg
        return loss

    def augmenter_loss(self, interaction: Any, views: Views) -> Tensor:
        r""":math:`L_1 = L_{cl2} + w_1 R` (:math:`w_1` = ``augmenter_reg_weight``), with the encoder outputs computed
        without gradient."""
        with torch.no_grad():
            h1, h2 = self.encode_views(views)
        cl2, reg = self.contrast_terms(h1, h2)
        return cl2 + self.augmenter_reg_weight * reg

    def calculate_loss(self, interaction: Any) -> Tensor:
        """:math:`L_0` on freshly drawn views (used by the joint variant and by RecBole's stock Trainer)."""
        return self.encoder_loss(interaction, self.make_views(interaction))
