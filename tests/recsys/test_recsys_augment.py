import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.augment import SequenceAugmentation, item_crop, item_mask, item_reorder, random_views

L = 8


def _batch(lengths, offset=1):
    """Left-aligned sequences of distinct ids (row b: offset + 100 b, ...), zero padded to L."""
    seq = torch.zeros(len(lengths), L, dtype=torch.long)
    for b, n in enumerate(lengths):
        seq[b, :n] = torch.arange(n) + offset + 100 * b
    return seq, torch.tensor(lengths)


lengths_st = st.lists(st.integers(1, L), min_size=1, max_size=6)
ratio_st = st.floats(0.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(lengths=lengths_st, eta=ratio_st, seed=st.integers(0, 2 ** 16))
def test_crop_keeps_a_contiguous_window(lengths, eta, seed):
    seq, n = _batch(lengths)
    out, m = item_crop(seq, n, eta, torch.Generator().manual_seed(seed))
    for b, length in enumerate(lengths):
        keep = max(1, math.floor(length * eta))
        assert int(m[b]) == keep
        row, orig = out[b].tolist(), seq[b, :length].tolist()
        assert row[keep:] == [0] * (L - keep)
        window = row[:keep]
        start = orig.index(window[0])
        assert orig[start:start + keep] == window


@settings(max_examples=40, deadline=None)
@given(lengths=lengths_st, gamma=ratio_st, seed=st.integers(0, 2 ** 16))
def test_mask_replaces_exactly_floor_gamma_n_positions(lengths, gamma, seed):
    seq, n = _batch(lengths)
    out, m = item_mask(seq, n, gamma, mask_token=-7, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(m, n)
    for b, length in enumerate(lengths):
        changed = (out[b] != seq[b]).nonzero().flatten().tolist()
        assert len(changed) == math.floor(length * gamma)
        assert all(p < length for p in changed) and all(out[b, p] == -7 for p in changed)


@settings(max_examples=40, deadline=None)
@given(lengths=lengths_st, beta=ratio_st, seed=st.integers(0, 2 ** 16))
def test_reorder_permutes_one_window(lengths, beta, seed):
    seq, n = _batch(lengths)
    out, m = item_reorder(seq, n, beta, torch.Generator().manual_seed(seed))
    assert torch.equal(m, n)
    for b, length in enumerate(lengths):
        width = math.floor(length * beta)
        row, orig = out[b].tolist(), seq[b].tolist()
        assert sorted(row) == sorted(orig) and row[length:] == [0] * (L - length)
        moved = [p for p in range(L) if row[p] != orig[p]]
        if moved:  # the moved items are permuted among themselves, inside one window of the given width
            assert moved[-1] - moved[0] < width and moved[-1] < length
            assert sorted(row[p] for p in moved) == sorted(orig[p] for p in moved)


def test_reorder_shuffles_the_whole_sequence_at_beta_one():
    seq, n = _batch([8] * 64)
    out, _ = item_reorder(seq, n, 1.0, torch.Generator().manual_seed(0))
    assert (out != seq).any(dim=1).float().mean() > 0.9  # almost every row moved
    assert torch.equal(out.sort(dim=1).values, seq.sort(dim=1).values)


def test_length_one_is_unchanged():
    seq, n = _batch([1, 1])
    for out, m in (item_crop(seq, n, 0.5), item_mask(seq, n, 0.9, 99), item_reorder(seq, n, 1.0)):
        assert torch.equal(out, seq) and torch.equal(m, n)


def test_distinct_views_use_two_operators():
    seq, n = _batch([6] * 32)
    s1, l1, s2, l2 = random_views(seq, n, ops=('crop', 'mask'), distinct=True, eta=0.5, gamma=1.0,
                                  mask_token=999, generator=torch.Generator().manual_seed(1))
    masked1 = (s1[:, :6] == 999).all(dim=1)
    masked2 = (s2[:, :6] == 999).all(dim=1)
    assert torch.equal(masked1, ~masked2)  # exactly one view of each row is the mask view
    assert torch.equal(torch.where(masked1, l2, l1), torch.full((32,), 3))  # the other is a crop to 3
    _, _, _, _ = random_views(seq, n, ops=('crop',), distinct=False)
    with pytest.raises(ValueError, match="'distinct=True' needs at least two"):
        random_views(seq, n, ops=('crop',), distinct=True)


def test_generator_makes_views_reproducible():
    seq, n = _batch([5, 8, 3])
    a = random_views(seq, n, generator=torch.Generator().manual_seed(3))
    b = random_views(seq, n, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_errors_and_repr():
    seq, n = _batch([3])
    with pytest.raises(ValueError, match=r"'eta' to be in \[0, 1\] \(got 1.5\)"):
        item_crop(seq, n, 1.5)
    with pytest.raises(ValueError, match="'ops' to be one of"):
        random_views(seq, n, ops=('crop', 'swap'))
    with pytest.raises(ValueError, match="'item_seq_len' of shape"):
        item_mask(seq, torch.tensor([3, 3]))
    aug = SequenceAugmentation(ops=('crop', 'reorder'), eta=0.6)
    assert repr(aug) == ("SequenceAugmentation(ops=['crop', 'reorder'], distinct=True, eta=0.6, gamma=0.5, "
                         "beta=0.8, mask_token=0)")
    s1, l1, s2, l2 = aug(seq, n)
    assert s1.shape == seq.shape and l1.shape == n.shape
