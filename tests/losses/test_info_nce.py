import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import InfoNCELoss, info_nce


def _naive(z1, z2, tau, bias=None):
    """Dense loop over anchors, straight from the GRACE formula (float64)."""
    u, v = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    n = u.size(0)
    b = torch.zeros(n, dtype=torch.float64) if bias is None else bias.double()

    def sim(x, y, i, k):
        return float(x[i] @ y[k]) + float(b[i]) + float(b[k])

    def ell(a, c, i):
        num = math.exp(sim(a, c, i, i) / tau)
        den = num + sum(math.exp(sim(a, c, i, k) / tau) for k in range(n) if k != i)
        den += sum(math.exp(sim(a, a, i, k) / tau) for k in range(n) if k != i)
        return -math.log(num / den)

    return sum(0.5 * (ell(u, v, i) + ell(v, u, i)) for i in range(n)) / n


def test_hand_computed_two_nodes():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # every anchor: positive cos 1, one inter negative cos 0, one intra negative cos 0
    expected = -math.log(math.e / (math.e + 2.0))
    assert info_nce(z, z, temperature=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_hand_computed_three_nodes_with_scale_invariance():
    u = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])  # cosine ignores the norms
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    tau = 0.5
    c = 1 / math.sqrt(2)
    e = lambda x: math.exp(x / tau)  # noqa: E731
    # l(u_i, v_i): inter row (u_i . v_k), intra row (u_i . u_k), k != i
    l_u = [-math.log(e(1) / (e(1) + e(0) + e(0) + e(0) + e(c))),
           -math.log(e(1) / (e(1) + e(0) + e(1) + e(0) + e(c))),
           -math.log(e(c) / (e(c) + e(c) + e(c) + e(c) + e(c)))]
    # l(v_i, u_i): inter row (v_i . u_k), intra row (v_i . v_k)
    l_v = [-math.log(e(1) / (e(1) + e(0) + e(c) + e(0) + e(0))),
           -math.log(e(1) / (e(1) + e(0) + e(c) + e(0) + e(1))),
           -math.log(e(c) / (e(c) + e(0) + e(1) + e(0) + e(1)))]
    expected = sum(0.5 * (a + b) for a, b in zip(l_u, l_v)) / 3
    assert info_nce(u, v, temperature=tau).item() == pytest.approx(expected, abs=1e-6)
    assert _naive(u, v, tau) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize('tau', [0.1, 0.5, 1.0])
@pytest.mark.parametrize('with_bias', [False, True])
def test_matches_naive_dense(tau, with_bias):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    bias = torch.rand(7, generator=g) if with_bias else None
    out = info_nce(z1, z2, tau, pair_bias=bias)
    assert out.item() == pytest.approx(_naive(z1, z2, tau, bias), abs=1e-5)


@pytest.mark.parametrize('batch_size', [1, 3, 7, 100])
def test_batched_equals_unbatched_values_and_gradients(batch_size):
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(10, 5, generator=g, requires_grad=True)
    z2 = torch.randn(10, 5, generator=g, requires_grad=True)
    bias = torch.rand(10, generator=g)
    ref = info_nce(z1, z2, 0.3, pair_bias=bias)
    g1, g2 = torch.autograd.grad(ref, (z1, z2))
    out = info_nce(z1, z2, 0.3, batch_size=batch_size, pair_bias=bias)
    h1, h2 = torch.autograd.grad(out, (z1, z2))
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(h1, g1, atol=1e-6) and torch.allclose(h2, g2, atol=1e-6)


def test_symmetric_and_reductions():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    assert torch.allclose(info_nce(z1, z2), info_nce(z2, z1), atol=1e-6)
    per_node = info_nce(z1, z2, reduction='none')
    assert per_node.shape == (6,)
    assert torch.allclose(per_node.mean(), info_nce(z1, z2), atol=1e-6)
    assert torch.allclose(per_node.sum(), info_nce(z1, z2, reduction='sum'), atol=1e-6)


def test_stable_at_tiny_temperature():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    out = info_nce(z1, z2, temperature=1e-3)
    assert torch.isfinite(out)


def test_module_and_repr():
    loss = InfoNCELoss(temperature=0.2, batch_size=4)
    assert str(loss) == 'InfoNCELoss(temperature=0.2, batch_size=4)'
    z1, z2 = torch.randn(9, 3), torch.randn(9, 3)
    assert torch.allclose(loss(z1, z2), info_nce(z1, z2, 0.2), atol=1e-6)


def test_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="'temperature'"):
        info_nce(z, z, temperature=0.0)
    with pytest.raises(ValueError, match="'batch_size'"):
        InfoNCELoss(batch_size=0)
    with pytest.raises(ValueError, match="'z1' and 'z2'"):
        info_nce(z, torch.randn(5, 3))
    with pytest.raises(ValueError, match="'pair_bias'"):
        info_nce(z, z, pair_bias=torch.zeros(3))
    with pytest.raises(ValueError, match="'reduction'"):
        info_nce(z, z, reduction='avg')
