r"""CL4SRec on the backbone SASRec."""
from __future__ import annotations

from typing import Any, Tuple

from torch import Tensor

from ..augment import AUGMENTATIONS, random_views
from ..losses import SIMILARITIES, gather_batch, sequence_info_nce
from .sasrec_backbone import SASRecBackbone, _cfg

__all__ = ['CL4SRec', 'MASK_TOKENS']

#: Values of the ``mask_token`` config key: a dedicated ``[mask]`` id (``n_items``) or the padding id ``0``.
MASK_TOKENS = ('mask', 'pad')


class CL4SRec(SASRecBackbone):
    r"""CL4SRec, `"Contrastive Learning for Sequential Recommendation" <https://arxiv.org/abs/2010.14395>`_
    (Xie et al., ICDE 2022): SASRec plus an InfoNCE between two augmented views of every training sequence.

    Each sequence gets two views :math:`\tilde s^{(1)}, \tilde s^{(2)}` made by crop (:math:`\eta`), mask
    (:math:`\gamma`) or reorder (:math:`\beta`) (:mod:`recsys.augment`); with :math:`h = ` the encoder output at the
    last item:

    .. math::
        \mathcal{L} = \mathcal{L}_{rec} + \lambda\, \mathcal{L}_{cl}(h(\tilde s^{(1)}), h(\tilde s^{(2)}))

    where :math:`\mathcal{L}_{cl}` is :func:`recsys.losses.sequence_info_nce` (2B views, dot similarity,
    :math:`\tau = 1` by default). In RecBole's multi-process mode the views' representations of every rank are
    gathered first (:func:`recsys.losses.gather_batch`): the negatives are the global batch's, as in one process.

    Config keys (``recsys/models/CL4SRec.yaml``), besides SASRec's: ``lmd`` (:math:`\lambda`), ``tau``, ``sim``
    (``'dot'`` / ``'cos'``), ``crop_eta``, ``mask_gamma``, ``reorder_beta``, ``aug_ops`` (subset of crop / mask /
    reorder), ``aug_distinct`` (two different operators per sequence), ``mask_token`` (``'mask'``: a dedicated id
    ``n_items``, ``'pad'``: ``0``).
    """

    def __init__(self, config: Any, dataset: Any):
        super().__init__(config, dataset)
        self.lmd = float(_cfg(config, 'lmd', 0.1))
        self.tau = float(_cfg(config, 'tau', 1.0))
        self.sim = str(_cfg(config, 'sim', 'dot'))
        if self.sim not in SIMILARITIES:
            raise ValueError(f"Expected 'sim' to be one of {SIMILARITIES} (got '{self.sim}')")
        self.crop_eta = float(_cfg(config, 'crop_eta', 0.6))
        self.mask_gamma = float(_cfg(config, 'mask_gamma', 0.3))
        self.reorder_beta = float(_cfg(config, 'reorder_beta', 0.6))
        self.aug_ops = tuple(_cfg(config, 'aug_ops', AUGMENTATIONS))
        self.aug_distinct = bool(_cfg(config, 'aug_distinct', True))
        self.mask_token_id = self.n_items if self._mask_token(config) == 'mask' else 0

    @staticmethod
    def _mask_token(config: Any) -> str:
        value = str(_cfg(config, 'mask_token', 'mask'))
        if value not in MASK_TOKENS:
            raise ValueError(f"Expected 'mask_token' to be one of {MASK_TOKENS} (got '{value}')")
        return value

    def num_special_tokens(self, config: Any) -> int:
        return 1 if self._mask_token(config) == 'mask' else 0

    def make_views(self, interaction: Any) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        r"""Two augmented views ``(seq1, len1, seq2, len2)`` of the batch's sequences."""
        return random_views(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN], ops=self.aug_ops,
                            distinct=self.aug_distinct, eta=self.crop_eta, gamma=self.mask_gamma,
                            beta=self.reorder_beta, mask_token=self.mask_token_id)

    def calculate_loss(self, interaction: Any) -> Tensor:
        loss, _ = self.rec_loss(interaction)
        if self.lmd == 0:
            return loss
        seq1, len1, seq2, len2 = self.make_views(interaction)
        h1, h2 = gather_batch(self.forward(seq1, len1), self.forward(seq2, len2))
        return loss + self.lmd * sequence_info_nce(h1, h2, self.tau, self.sim)
