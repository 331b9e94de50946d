r"""Sequence augmentations of `"Contrastive Learning for Sequential Recommendation" (CL4SRec)
<https://arxiv.org/abs/2010.14395>`_: crop, mask and reorder, vectorised over a padded batch.

Every function takes RecBole's layout: ``item_seq`` of shape ``[B, L]`` holding each sequence left-aligned in its
first ``item_seq_len[b]`` positions, ``0`` (padding) after. Outputs keep that layout. No Python loop over rows:
random choices are drawn as tensors and applied with ``gather`` / ``argsort``.

For a sequence :math:`s = (v_1, \dots, v_n)`:

* crop, :math:`\eta`: keep a random contiguous window of :math:`\max(1, \lfloor \eta n \rfloor)` items;
* mask, :math:`\gamma`: replace :math:`\lfloor \gamma n \rfloor` random positions by a mask token;
* reorder, :math:`\beta`: shuffle a random contiguous window of :math:`\lfloor \beta n \rfloor` items.

Sequences of length 1 are returned unchanged by all three.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['AUGMENTATIONS', 'SequenceAugmentation', 'item_crop', 'item_mask', 'item_reorder', 'random_views']

#: Names of the available operators, in the order used by the integer codes of :func:`random_views`.
AUGMENTATIONS = ('crop', 'mask', 'reorder')


def _check_ratio(name: str, value: float) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"Expected '{name}' to be in [0, 1] (got {value})")


def _check_batch(item_seq: Tensor, item_seq_len: Tensor) -> None:
    if item_seq.dim() != 2:
        raise ValueError(f"Expected 'item_seq' of shape [B, L] (got shape {tuple(item_seq.shape)})")
    if item_seq_len.shape != item_seq.shape[:1]:
        raise ValueError(f"Expected 'item_seq_len' of shape [{item_seq.size(0)}] "
                         f"(got shape {tuple(item_seq_len.shape)})")


def _uniform_int(high: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    """One integer uniformly drawn in ``[0, high)`` per entry (``high >= 1``)."""
    u = torch.rand(high.shape, generator=generator, device=high.device)
    return torch.minimum((u * high).long(), high - 1)


def item_crop(item_seq: Tensor, item_seq_len: Tensor, eta: float = 0.5,
              generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    r"""Keep a random contiguous window of :math:`\max(1, \lfloor \eta n \rfloor)` items of each sequence.

    Args:
        item_seq (torch.Tensor): ``[B, L]`` left-aligned item ids, ``0`` = padding.
        item_seq_len (torch.Tensor): ``[B]`` lengths.
        eta (float, optional): fraction of items kept, in :math:`[0, 1]`. (default: :obj:`0.5`)
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor): the cropped batch ``[B, L]`` and its lengths ``[B]``.

    Example:
        >>> seq = torch.tensor([[1, 2, 3, 4, 0]])
        >>> out, n = item_crop(seq, torch.tensor([4]), eta=0.5, generator=torch.Generator().manual_seed(0))
        >>> n.tolist(), out[0, 2:].tolist()
        ([2], [0, 0, 0])
    """
    _check_batch(item_seq, item_seq_len)
    _check_ratio('eta', eta)
    length = item_seq_len.long()
    keep = torch.clamp((length.double() * eta).floor().long(), min=1)
    keep = torch.minimum(keep, length)
    start = _uniform_int(torch.clamp(length - keep + 1, min=1), generator)
    pos = torch.arange(item_seq.size(1), device=item_seq.device).unsqueeze(0)
    src = torch.clamp(start.unsqueeze(1) + pos, max=item_seq.size(1) - 1)
    out = item_seq.gather(1, src)
    out = torch.where(pos < keep.unsqueeze(1), out, torch.zeros_like(out))
    return out, keep.to(item_seq_len.dtype)


def item_mask(item_seq: Tensor, item_seq_len: Tensor, gamma: float = 0.5, mask_token: int = 0,
              generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    r"""Replace :math:`\lfloor \gamma n \rfloor` distinct random positions of each sequence by ``mask_token``.

    Args:
        item_seq (torch.Tensor): ``[B, L]`` left-aligned item ids, ``0`` = padding.
        item_seq_len (torch.Tensor): ``[B]`` lengths (unchanged by masking).
        gamma (float, optional): fraction of positions masked, in :math:`[0, 1]`. (default: :obj:`0.5`)
        mask_token (int, optional): id written at masked positions (CL4SRec: a dedicated ``[mask]`` id, the
            MCLRec code: ``0``). (default: :obj:`0`)
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor): the masked batch ``[B, L]`` and its lengths ``[B]``.
    """
    _check_batch(item_seq, item_seq_len)
    _check_ratio('gamma', gamma)
    length = item_seq_len.long()
    n_mask = (length.double() * gamma).floor().long()
    pos = torch.arange(item_seq.size(1), device=item_seq.device).unsqueeze(0)
    keys = torch.rand(item_seq.shape, generator=generator, device=item_seq.device)
    keys = torch.where(pos < length.unsqueeze(1), keys, torch.full_like(keys, 2.0))  # padding ranks last
    rank = keys.argsort(dim=1).argsort(dim=1)
    masked = rank < n_mask.unsqueeze(1)
    out = torch.where(masked, torch.full_like(item_seq, mask_token), item_seq)
    return out, item_seq_len.clone()


def item_reorder(item_seq: Tensor, item_seq_len: Tensor, beta: float = 0.8,
                 generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    r"""Shuffle a random contiguous window of :math:`\lfloor \beta n \rfloor` items of each sequence.

    The window starts uniformly in :math:`[0, n - \lfloor \beta n \rfloor]`; items outside it keep their place.

    Args:
        item_seq (torch.Tensor): ``[B, L]`` left-aligned item ids, ``0`` = padding.
        item_seq_len (torch.Tensor): ``[B]`` lengths (unchanged).
        beta (float, optional): fraction of the sequence shuffled, in :math:`[0, 1]`. (default: :obj:`0.8`)
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor): the reordered batch ``[B, L]`` and its lengths ``[B]``.
    """
    _check_batch(item_seq, item_seq_len)
    _check_ratio('beta', beta)
    length = item_seq_len.long()
    width = (length.double() * beta).floor().long()
    start = _uniform_int(torch.clamp(length - width + 1, min=1), generator).unsqueeze(1)
    width = width.unsqueeze(1)
    pos = torch.arange(item_seq.size(1), device=item_seq.device).unsqueeze(0)
    inside = (pos >= start) & (pos < start + width)
    # Outside the window a position keeps its own index as sort key; inside, keys are random in
    # [start - 1/2, start + width - 1/2), strictly between the neighbouring outside keys.
    u = torch.rand(item_seq.shape, generator=generator, device=item_seq.device, dtype=torch.float64)
    keys = torch.where(inside, start.double() - 0.5 + u * width, pos.double())
    return item_seq.gather(1, keys.argsort(dim=1)), item_seq_len.clone()


def _apply_ops(item_seq: Tensor, item_seq_len: Tensor, ops: Tensor, eta: float, gamma: float, beta: float,
               mask_token: int, generator: Optional[torch.Generator]) -> Tuple[Tensor, Tensor]:
    """Apply operator ``ops[b]`` (an index into :data:`AUGMENTATIONS`) to row ``b``."""
    crop = item_crop(item_seq, item_seq_len, eta, generator)
    mask = item_mask(item_seq, item_seq_len, gamma, mask_token, generator)
    reorder = item_reorder(item_seq, item_seq_len, beta, generator)
    seq = torch.stack([crop[0], mask[0], reorder[0]])  # [3, B, L]
    length = torch.stack([crop[1], mask[1], reorder[1]])  # [3, B]
    rows = torch.arange(item_seq.size(0), device=item_seq.device)
    return seq[ops, rows], length[ops, rows]


def random_views(item_seq: Tensor, item_seq_len: Tensor, ops: Sequence[str] = AUGMENTATIONS,
                 distinct: bool = True, eta: float = 0.5, gamma: float = 0.5, beta: float = 0.8,
                 mask_token: int = 0, generator: Optional[torch.Generator] = None
                 ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Two augmented views of every sequence, each made by an operator drawn per sequence from ``ops``.

    With ``distinct=True`` (MCLRec) the two operators of a sequence differ; with ``distinct=False`` (CL4SRec)
    they are drawn independently.

    Args:
        item_seq (torch.Tensor): ``[B, L]`` left-aligned item ids, ``0`` = padding.
        item_seq_len (torch.Tensor): ``[B]`` lengths.
        ops (sequence of str, optional): operators to draw from, a subset of :data:`AUGMENTATIONS`.
            (default: all three)
        distinct (bool, optional): draw two different operators per sequence. (default: :obj:`True`)
        eta (float, optional): crop ratio (fraction kept). (default: :obj:`0.5`)
        gamma (float, optional): mask ratio. (default: :obj:`0.5`)
        beta (float, optional): reorder ratio. (default: :obj:`0.8`)
        mask_token (int, optional): id used by the mask operator. (default: :obj:`0`)
        generator (torch.Generator, optional): source of randomness. (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor): ``seq1, len1, seq2, len2``.
    """
    codes = []
    for op in ops:
        if op not in AUGMENTATIONS:
            raise ValueError(f"Expected every entry of 'ops' to be one of {AUGMENTATIONS} (got '{op}')")
        codes.append(AUGMENTATIONS.index(op))
    if len(set(codes)) != len(codes) or not codes:
        raise ValueError(f"Expected 'ops' to be a non-empty list without repeats (got {list(ops)})")
    if distinct and len(codes) < 2:
        raise ValueError(f"'distinct=True' needs at least two operators in 'ops' (got {list(ops)})")
    _check_batch(item_seq, item_seq_len)
    table = torch.tensor(codes, device=item_seq.device)
    batch = item_seq.size(0)
    if distinct:
        keys = torch.rand((batch, len(codes)), generator=generator, device=item_seq.device)
        choice = keys.argsort(dim=1)[:, :2]
    else:
        choice = (torch.rand((batch, 2), generator=generator, device=item_seq.device) * len(codes)).long()
        choice = torch.clamp(choice, max=len(codes) - 1)
    ops1, ops2 = table[choice[:, 0]], table[choice[:, 1]]
    seq1, len1 = _apply_ops(item_seq, item_seq_len, ops1, eta, gamma, beta, mask_token, generator)
    seq2, len2 = _apply_ops(item_seq, item_seq_len, ops2, eta, gamma, beta, mask_token, generator)
    return seq1, len1, seq2, len2


class SequenceAugmentation:
    r"""Two-view sequence augmentation of CL4SRec / MCLRec (`CL4SRec <https://arxiv.org/abs/2010.14395>`_,
    `MCLRec <https://arxiv.org/abs/2304.07763>`_); stores the options and calls :func:`random_views`.

    Args:
        ops (sequence of str, optional): operators to draw from. (default: ``('crop', 'mask', 'reorder')``)
        distinct (bool, optional): two different operators per sequence. (default: :obj:`True`)
        eta (float, optional): crop ratio, fraction kept. (default: :obj:`0.5`)
        gamma (float, optional): mask ratio. (default: :obj:`0.5`)
        beta (float, optional): reorder ratio. (default: :obj:`0.8`)
        mask_token (int, optional): id written by the mask operator. (default: :obj:`0`)

    Example:
        >>> aug = SequenceAugmentation(distinct=True)
        >>> s1, l1, s2, l2 = aug(torch.tensor([[5, 6, 7, 8]]), torch.tensor([4]))
        >>> s1.shape, l2.shape
        (torch.Size([1, 4]), torch.Size([1]))
    """

    def __init__(self, ops: Sequence[str] = AUGMENTATIONS, distinct: bool = True, eta: float = 0.5,
                 gamma: float = 0.5, beta: float = 0.8, mask_token: int = 0):
        for name, value in (('eta', eta), ('gamma', gamma), ('beta', beta)):
            _check_ratio(name, value)
        for op in ops:
            if op not in AUGMENTATIONS:
                raise ValueError(f"Expected every entry of 'ops' to be one of {AUGMENTATIONS} (got '{op}')")
        self.ops = tuple(ops)
        self.distinct = bool(distinct)
        self.eta, self.gamma, self.beta = float(eta), float(gamma), float(beta)
        self.mask_token = int(mask_token)

    def __call__(self, item_seq: Tensor, item_seq_len: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        return random_views(item_seq, item_seq_len, self.ops, self.distinct, self.eta, self.gamma, self.beta,
                            self.mask_token, generator)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ops={list(self.ops)}, distinct={self.distinct}, eta={self.eta}, '
                f'gamma={self.gamma}, beta={self.beta}, mask_token={self.mask_token})')
