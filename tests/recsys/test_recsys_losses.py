import math

import pytest
import torch

from recsys.losses import SequenceInfoNCELoss, contrast_scores, margin_regularizer, sequence_info_nce


def _naive_info_nce(z1, z2, tau=1.0, labels=None, cos=False):
    """Row-by-row loop over the 2B views, straight from the formula."""
    z = torch.cat([z1, z2]).double()
    if cos:
        z = z / z.norm(dim=1, keepdim=True)
    y = None if labels is None else torch.cat([labels, labels]).tolist()
    n, b = z.size(0), z1.size(0)
    total = 0.0
    for i in range(n):
        p = (i + b) % n
        pos = float(z[i] @ z[p]) / tau
        denom = math.exp(pos)
        for j in range(n):
            if j in (i, p) or (y is not None and y[j] == y[i]):
                continue
            denom += math.exp(float(z[i] @ z[j]) / tau)
        total += -(pos - math.log(denom))
    return total / n


def test_hand_computed_value():
    z = torch.eye(2)
    # each view: positive e^1, negatives e^0 (other view of the other row) and e^0 (the other row)
    assert sequence_info_nce(z, z).item() == pytest.approx(-math.log(math.e / (math.e + 2)))
    # all pairs share a label: the false-negative mask leaves only the positive -> loss 0
    assert sequence_info_nce(z, z, labels=torch.tensor([4, 4])).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize('tau', [0.5, 1.0])
@pytest.mark.parametrize('with_labels', [False, True])
def test_matches_naive_loop(tau, with_labels):
    torch.manual_seed(0)
    z1, z2 = torch.randn(2, 5, 3)
    labels = torch.tensor([1, 2, 1, 3, 2]) if with_labels else None
    out = sequence_info_nce(z1, z2, tau, labels=labels)
    assert out.item() == pytest.approx(_naive_info_nce(z1, z2, tau, labels), rel=1e-5)
    assert SequenceInfoNCELoss(tau)(z1, z2, labels).item() == pytest.approx(out.item())


def test_distinct_labels_change_nothing_and_shared_labels_do():
    torch.manual_seed(1)
    z1, z2 = torch.randn(2, 4, 3)
    plain = sequence_info_nce(z1, z2)
    assert sequence_info_nce(z1, z2, labels=torch.arange(4)).item() == pytest.approx(plain.item())
    assert sequence_info_nce(z1, z2, labels=torch.tensor([0, 0, 1, 1])).item() < plain.item()


def test_cosine_equals_graphcl_grace_info_nce():
    from graphcl.losses import info_nce
    torch.manual_seed(2)
    z1, z2 = torch.randn(2, 6, 4)
    ours = sequence_info_nce(z1, z2, temperature=0.5, similarity='cos')
    assert ours.item() == pytest.approx(info_nce(z1, z2, temperature=0.5).item(), rel=1e-5)
    assert ours.item() == pytest.approx(_naive_info_nce(z1, z2, 0.5, cos=True), rel=1e-5)


def test_contrast_scores_layout():
    z1, z2 = torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [0.0]])
    pos, neg = contrast_scores(z1, z2)
    assert pos.tolist() == [3.0, 0.0, 3.0, 0.0]
    assert neg.tolist() == [[2.0, 0.0], [2.0, 6.0], [6.0, 0.0], [0.0, 0.0]]


def test_regularizer_hand_computed():
    # views z = (1, 2, 3, 0): s_ij = z_i z_j; per row (pos; negatives): (3; 2, 0), (0; 2, 6), (3; 6, 0), (0; 0, 0)
    z1, z2 = torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [0.0]])
    # per row: o_min/o_max = 2/3, 0/6, 3/6, 0/0 -> mean[s+ - o_min]+ = 1/4, mean[o_max - s-]+ = (1+3+4+0+0+6)/8
    assert margin_regularizer(z1, z2).item() == pytest.approx(0.25 + 14 / 8)
    # batch level: min s+ = 0, max s- = 6 -> mean(3, 0, 3, 0) + mean(4, 6, 4, 0, 0, 6, 6, 6)
    assert margin_regularizer(z1, z2, per_row=False).item() == pytest.approx(1.5 + 32 / 8)


def test_errors():
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="'similarity' to be one of"):
        sequence_info_nce(z, z, similarity='l2')
    with pytest.raises(ValueError, match="'temperature' > 0"):
        sequence_info_nce(z, z, temperature=0)
    with pytest.raises(ValueError, match="same shape"):
        sequence_info_nce(z, torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"'labels' of shape \[3\]"):
        sequence_info_nce(z, z, labels=torch.zeros(2))
    assert repr(SequenceInfoNCELoss(0.2, 'cos')) == "SequenceInfoNCELoss(temperature=0.2, similarity='cos')"


def test_regularizer_of_a_single_pair_is_zero():
    assert margin_regularizer(torch.ones(1, 3), torch.ones(1, 3)).item() == 0.0
