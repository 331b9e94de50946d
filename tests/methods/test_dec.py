import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcl.methods.dec import dec_kl, soft_assignment, target_distribution

@pytest.mark.parametrize("v", [1.0, 2.0])
def test_soft_assignment_matches_naive_student_t(v):
    g = torch.Generator().manual_seed(0)
    z, mu = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    q = soft_assignment(z, mu, v)
    for i in range(5):
        kern = [(1 + float(((z[i] - mu[k]) ** 2).sum()) / v) ** (-(v + 1) / 2) for k in range(4)]
        for k in range(4):
            assert float(q[i, k]) == pytest.approx(kern[k] / sum(kern), rel=1e-10)
    assert torch.allclose(q.sum(1), torch.ones(5, dtype=torch.float64))


def test_soft_assignment_hand_computed_and_errors():
    q = soft_assignment(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    assert torch.allclose(q, torch.tensor([[2 / 3, 1 / 3]]))  # kernels 1 and 1/2
    with pytest.raises(ValueError, match="same d"):
        soft_assignment(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="'v'"):
        soft_assignment(torch.zeros(2, 3), torch.zeros(2, 3), v=0.0)


def test_target_distribution_hand_computed():
    # f = (1, 1): p_i = q_i^2 / sum q_i^2 -> (0.5625, 0.0625) / 0.625
    p = target_distribution(torch.tensor([[0.75, 0.25], [0.25, 0.75]]))
    assert torch.allclose(p, torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    # unequal frequencies: f = (1.5, 0.5); row 0 weights (0.81/1.5, 0.01/0.5) = (0.54, 0.02)
    q = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
    p = target_distribution(q)
    assert float(p[0, 0]) == pytest.approx(0.54 / 0.56)
    assert float(p[1, 1]) == pytest.approx((0.16 / 0.5) / (0.36 / 1.5 + 0.16 / 0.5))


def test_target_distribution_properties():
    g = torch.Generator().manual_seed(1)
    q = torch.softmax(torch.randn(50, 4, generator=g, dtype=torch.float64), dim=1)
    p = target_distribution(q)
    assert torch.allclose(p.sum(1), torch.ones(50, dtype=torch.float64))  # rows are distributions
    assert bool((p >= 0).all())
    # with balanced clusters (f_k equal) P sharpens Q: same argmax, lower entropy per row
    balanced = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]], dtype=torch.float64)
    pb = target_distribution(balanced)
    assert torch.equal(pb.argmax(1), balanced.argmax(1))
    ent = lambda x: -(x * x.log()).sum(1)  # noqa: E731
    assert bool((ent(pb) < ent(balanced)).all())
    # one-hot rows are fixed points
    onehot = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(target_distribution(onehot), onehot)
    # KL(P||Q) >= 0, and 0 exactly when Q = P
    assert float(dec_kl(q, p)) > 0
    assert float(dec_kl(q, q)) == pytest.approx(0.0, abs=1e-12)
    naive = sum(float(p[i, k] * math.log(p[i, k] / q[i, k])) for i in range(50) for k in range(4)) / 50
    assert float(dec_kl(q, p)) == pytest.approx(naive, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(k=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_student_t_on_unit_rows_is_nearly_uniform(k, seed):
    """Why PamC's soft meta-nodes need un-normalised embeddings: with unit-norm rows and centres in the unit ball
    every squared distance is at most 4, so each kernel lies in [1/5, 1] and no q_ik exceeds 5 / (K + 4)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.nn.functional.normalize(torch.randn(30, 6, generator=g, dtype=torch.float64), dim=1)
    mu = torch.randn(k, 6, generator=g, dtype=torch.float64)
    mu = mu * (torch.rand(k, 1, generator=g, dtype=torch.float64) / mu.norm(dim=1, keepdim=True))
    mu[0] = z[0]  # the most concentrated case: node 0 sits on a centre
    q = soft_assignment(z, mu)
    assert float(q.max()) <= 5 / (k + 4) + 1e-12
    assert float(q.min()) >= 1 / (1 + 5 * (k - 1)) - 1e-12
