import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import DCLLoss, dcl, info_nce


def _naive(z1, z2, tau):
    u, v = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    n = u.size(0)

    def ell(a, c, i):
        neg = sum(math.exp(float(a[i] @ c[k]) / tau) for k in range(n) if k != i)
        neg += sum(math.exp(float(a[i] @ a[k]) / tau) for k in range(n) if k != i)
        return -float(a[i] @ c[i]) / tau + math.log(neg)

    return sum(0.5 * (ell(u, v, i) + ell(v, u, i)) for i in range(n)) / n


def test_hand_computed_two_nodes():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert dcl(z, z, temperature=1.0).item() == pytest.approx(-1 + math.log(2), abs=1e-6)


@pytest.mark.parametrize('tau', [0.01, 0.2, 1.0])  # 0.01: past the fused core's range, the logsumexp path
def test_matches_naive_and_relation_to_info_nce(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    out = dcl(z1, z2, tau)
    assert out.item() == pytest.approx(_naive(z1, z2, tau), abs=1e-5)
    assert out < info_nce(z1, z2, tau)  # removing the positive shrinks every denominator


@pytest.mark.parametrize('batch_size', [1, 4])
def test_batched_equals_unbatched(batch_size):
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(9, 3, generator=g, requires_grad=True)
    z2 = torch.randn(9, 3, generator=g, requires_grad=True)
    ref = dcl(z1, z2, 0.5)
    g_ref = torch.autograd.grad(ref, (z1, z2))
    out = dcl(z1, z2, 0.5, batch_size=batch_size)
    g_out = torch.autograd.grad(out, (z1, z2))
    assert torch.allclose(out, ref, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g_out, g_ref))


def test_module_and_errors():
    loss = DCLLoss(temperature=0.3, batch_size=2)
    assert str(loss) == 'DCLLoss(temperature=0.3, batch_size=2)'
    z1, z2 = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(loss(z1, z2), dcl(z1, z2, 0.3), atol=1e-6)
    with pytest.raises(ValueError, match='at least 2 nodes'):
        dcl(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="'temperature'"):
        DCLLoss(temperature=-1)
