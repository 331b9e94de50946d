"""Masked multi-task property losses: hand-computed values, missing labels out of loss and gradient."""
import math

import pytest
import torch

from graphcl.losses.property_loss import PropertyLoss, masked_bce_with_logits, masked_mse

NAN = float("nan")


def _softplus(v):
    return math.log1p(math.exp(v))


def test_bce_by_hand_with_missing_labels():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]], requires_grad=True)
    target = torch.tensor([[1.0, NAN], [0.0, 1.0]])
    loss = masked_bce_with_logits(logits, target)
    # -log sigma(z) = softplus(-z) for y = 1; -log(1 - sigma(z)) = softplus(z) for y = 0; 3 present entries
    expected = (_softplus(-0.0) + _softplus(-1.0) + _softplus(-0.5)) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.4934953, abs=1e-6)
    loss.backward()
    # d/dz = (sigma(z) - y) / |present|, and 0 on the missing entry
    sig = torch.sigmoid(logits.detach())
    expected_grad = torch.tensor([[sig[0, 0] - 1, 0.0], [sig[1, 0] - 0, sig[1, 1] - 1]]) / 3
    torch.testing.assert_close(logits.grad, expected_grad)
    assert logits.grad[0, 1].item() == 0.0


def test_bce_mean_is_over_entries_not_tasks():
    # task 0 has 3 labels, task 1 has one: the entry mean (4 terms) differs from the mean of per-task means
    logits = torch.tensor([[0.0, 3.0], [0.0, 0.0], [0.0, 0.0]])
    target = torch.tensor([[1.0, 1.0], [0.0, NAN], [1.0, NAN]])
    per_entry = [math.log(2)] * 3 + [_softplus(-3.0)]
    assert masked_bce_with_logits(logits, target).item() == pytest.approx(sum(per_entry) / 4, abs=1e-6)
    assert sum(per_entry) / 4 != pytest.approx((math.log(2) + _softplus(-3.0)) / 2, abs=1e-3)


def test_mse_by_hand_with_missing_labels():
    pred = torch.tensor([[1.0, 5.0], [2.0, -1.0], [0.5, 7.0]], requires_grad=True)
    target = torch.tensor([[0.0, NAN], [4.0, 1.0], [NAN, NAN]])
    loss = masked_mse(pred, target)
    assert loss.item() == pytest.approx((1.0 + 4.0 + 4.0) / 3)
    loss.backward()
    expected_grad = torch.tensor([[2 * 1.0, 0.0], [2 * -2.0, 2 * -2.0], [0.0, 0.0]]) / 3
    torch.testing.assert_close(pred.grad, expected_grad)


@pytest.mark.parametrize("fn", [masked_bce_with_logits, masked_mse])
def test_no_label_gives_zero_with_gradient(fn):
    pred = torch.tensor([[0.3, -2.0]], requires_grad=True)
    loss = fn(pred, torch.full((1, 2), NAN))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(1, 2))


def test_single_task_vector_and_integer_targets():
    assert masked_mse(torch.tensor([1.0, 2.0]), torch.tensor([1, 4])).item() == pytest.approx(2.0)
    assert masked_bce_with_logits(torch.zeros(2), torch.tensor([0, 1])).item() == pytest.approx(math.log(2))


def test_module_dispatches_and_reprs():
    pred, target = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, NAN]])
    assert PropertyLoss("classification")(pred, target).item() == pytest.approx(math.log(2))
    assert PropertyLoss("regression")(pred, target).item() == pytest.approx(1.0)
    assert str(PropertyLoss("regression")) == "PropertyLoss(task_type='regression')"


def test_errors_name_the_argument_and_value():
    with pytest.raises(ValueError, match=r"Expected 'task_type' to be one of \('classification', 'regression'\) "
                                         r"\(got 'multiclass'\)"):
        PropertyLoss("multiclass")
    with pytest.raises(ValueError, match=r"Expected 'pred' and 'target' of the same shape \(got \(2, 3\) and \(2,\)\)"):
        masked_mse(torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"present labels of 'target' to lie in \[0, 1\] \(got -1.0\)"):
        masked_bce_with_logits(torch.zeros(2), torch.tensor([-1.0, NAN]))
    with pytest.raises(TypeError, match=r"\(got list and Tensor\)"):
        masked_mse([1.0], torch.zeros(1))
