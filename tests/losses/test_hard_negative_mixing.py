import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import HardNegativeMixingLoss, hard_negative_mixing, info_nce


def _naive_hardest_duplicated(z1, z2, tau):
    """num_hard=1, num_mix=1, num_query_mix=0: the one synthetic negative is the hardest inter-view negative
    itself (mixing it with itself), detached, added once more to the denominator."""
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = u.size(0)

    def ell(a, c):
        out = []
        for i in range(n):
            inter = torch.stack([a[i] @ c[k] for k in range(n)]) / tau
            intra = torch.stack([a[i] @ a[k] for k in range(n) if k != i]) / tau
            hardest = max((k for k in range(n) if k != i), key=lambda k: float((a[i] @ c[k]).detach()))
            synth = (a[i] @ c[hardest].detach()) / tau
            den = torch.logsumexp(torch.cat([inter, intra, synth.view(1)]), 0)
            out.append(den - inter[i])
        return torch.stack(out)

    return (0.5 * (ell(u, v) + ell(v, u))).mean()


def test_hand_checked_case_with_gradients():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(6, 4, generator=g, requires_grad=True)
    z2 = torch.randn(6, 4, generator=g, requires_grad=True)
    out = hard_negative_mixing(z1, z2, 0.5, num_hard=1, num_mix=1, num_query_mix=0)
    ref = _naive_hardest_duplicated(z1, z2, 0.5)
    assert out.item() == pytest.approx(ref.item(), abs=1e-5)
    g_out = torch.autograd.grad(out, (z1, z2))
    g_ref = torch.autograd.grad(ref, (z1, z2))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g_out, g_ref))


def test_two_nodes_closed_form():
    # one negative per anchor; num_hard=1, one mix -> that negative counted twice in the denominator
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = hard_negative_mixing(z, z, temperature=1.0, num_hard=1, num_mix=1, num_query_mix=0)
    assert out.item() == pytest.approx(-math.log(math.e / (math.e + 3.0)), abs=1e-6)


def test_no_mixing_is_info_nce_and_mixing_only_adds():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    base = info_nce(z1, z2, 0.4)
    assert torch.allclose(hard_negative_mixing(z1, z2, 0.4, num_mix=0, num_query_mix=0), base, atol=1e-6)
    out = hard_negative_mixing(z1, z2, 0.4, num_hard=3, num_mix=4, num_query_mix=4,
                               generator=torch.Generator().manual_seed(0))
    assert out > base


def test_query_mixes_are_harder_than_their_negative():
    # h' = normalize(b q + (1-b) n) with b < 0.5 is at least as similar to q as n: a loss with only query mixes
    # exceeds the one that duplicates the chosen hardest negative instead
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    only_q = hard_negative_mixing(z1, z2, 0.5, num_hard=1, num_mix=0, num_query_mix=1,
                                  generator=torch.Generator().manual_seed(0))
    dup = hard_negative_mixing(z1, z2, 0.5, num_hard=1, num_mix=1, num_query_mix=0)
    assert only_q >= dup


@pytest.mark.parametrize('batch_size', [1, 3])
def test_batched_equals_unbatched_same_draws(batch_size):
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(7, 4, generator=g, requires_grad=True)
    z2 = torch.randn(7, 4, generator=g, requires_grad=True)
    ref = hard_negative_mixing(z1, z2, 0.5, 3, 2, 2, generator=torch.Generator().manual_seed(9))
    g_ref = torch.autograd.grad(ref, (z1, z2))
    out = hard_negative_mixing(z1, z2, 0.5, 3, 2, 2, batch_size=batch_size, generator=torch.Generator().manual_seed(9))
    g_out = torch.autograd.grad(out, (z1, z2))
    assert torch.allclose(out, ref, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g_out, g_ref))


def test_module_and_errors():
    loss = HardNegativeMixingLoss(temperature=0.2, num_hard=4, num_mix=2, num_query_mix=1)
    assert str(loss) == 'HardNegativeMixingLoss(temperature=0.2, num_hard=4, num_mix=2, num_query_mix=1)'
    assert loss(torch.randn(6, 3), torch.randn(6, 3)).shape == ()
    with pytest.raises(ValueError, match="'num_hard'"):
        hard_negative_mixing(torch.randn(3, 2), torch.randn(3, 2), num_hard=0)
