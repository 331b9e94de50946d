"""The shared two-view contrastive core (``graphcl.losses._contrast``) against the formula written out per anchor.

The fused path (:func:`contrast_pair`) has a hand-written backward; the fallback (:func:`contrast_rows`) runs in
log-space with checkpointed row blocks. Both are compared, values and gradients, with autograd through a plain
per-anchor loop in float64, with and without the pair bias, batched and unbatched.
"""
import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import _contrast
from graphcl.losses._contrast import contrast_both, contrast_pair, contrast_rows, pair_supported


def _naive(a, b, tau, bias=None, include_positive=True):
    r"""Per anchor i: -s'(a_i, b_i)/tau + log( [e^{s'(a_i,b_i)/tau}] + sum_{k!=i} e^{s'(a_i,b_k)/tau}
    + sum_{k!=i} e^{s'(a_i,a_k)/tau} ), s'(x, y) = x.y + bias_i + bias_k; one anchor at a time."""
    n = a.size(0)
    zero = a.new_zeros(())
    out = []
    for i in range(n):  # loop over anchors: the reference formula, not a vectorised rewrite
        shift = lambda k: zero if bias is None else bias[i] + bias[k]  # noqa: E731
        terms = [(a[i] @ b[k] + shift(k)) / tau for k in range(n) if include_positive or k != i]
        terms += [(a[i] @ a[k] + shift(k)) / tau for k in range(n) if k != i]
        out.append(torch.logsumexp(torch.stack(terms), dim=0) - (a[i] @ b[i] + shift(i)) / tau)
    return torch.stack(out)


def _inputs(n=9, d=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    # weights of the two directions differ, so the gradients through both log-denominators are checked
    w_a, w_b = torch.rand(n, generator=g, dtype=dtype), torch.rand(n, generator=g, dtype=dtype)
    bias = torch.randn(n, generator=g, dtype=dtype)  # spread of several units: exp(bias / tau) far from 1
    return z1, z2, w_a, w_b, bias


@pytest.mark.parametrize("tau", [0.3, 1.0])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("batch_size,dense_rows", [(None, 512), (None, 4), (3, 512)])
@pytest.mark.parametrize("include_positive", [True, False])
def test_fused_backward_equals_autograd_of_the_formula(tau, with_bias, batch_size, dense_rows, include_positive,
                                                       monkeypatch):
    monkeypatch.setitem(_contrast._DENSE_BLOCK, "cpu", dense_rows)  # 4: the kept blocks span several row blocks
    z1, z2, w_a, w_b, bias = _inputs()
    bias = bias if with_bias else None
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    assert pair_supported(a, tau, bias)
    la, lb = contrast_pair(a, b, tau, batch_size, bias, include_positive)
    ra, rb = _naive(a, b, tau, bias, include_positive), _naive(b, a, tau, bias, include_positive)
    assert torch.allclose(la, ra, atol=1e-10) and torch.allclose(lb, rb, atol=1e-10)
    got = torch.autograd.grad((w_a * la + w_b * lb).sum(), (z1, z2), retain_graph=True)
    want = torch.autograd.grad((w_a * ra + w_b * rb).sum(), (z1, z2))
    for g, r in zip(got, want):
        assert torch.allclose(g, r, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("tau", [0.005, 200.0])  # 0.005: past the fused path's float32 range; 200: flat
@pytest.mark.parametrize("batch_size", [None, 4])
def test_rows_fallback_at_extreme_temperatures(tau, batch_size):
    z1, z2, w_a, w_b, bias = _inputs(dtype=torch.float32)
    bias = (0.5 * bias).detach()
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    if tau < 1:
        assert not pair_supported(a, tau, bias)  # contrast_both falls back to contrast_rows here
    la, lb = contrast_both(a, b, tau, batch_size, bias)
    a64, b64 = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    ra, rb = _naive(a64, b64, tau, bias.double()), _naive(b64, a64, tau, bias.double())
    scale = ra.abs().max().item() + 1
    assert torch.allclose(la.double(), ra, rtol=1e-4, atol=1e-5 * scale)
    assert torch.allclose(lb.double(), rb, rtol=1e-4, atol=1e-5 * scale)
    got = torch.autograd.grad((w_a * la + w_b * lb).sum(), (z1, z2), retain_graph=True)
    want = torch.autograd.grad((w_a.double() * ra + w_b.double() * rb).sum(), (z1, z2))
    for g, r in zip(got, want):
        assert torch.allclose(g, r, rtol=1e-3, atol=1e-4 * r.abs().max().item())


@pytest.mark.parametrize("batch_size", [None, 2, 4])  # 2, 4: checkpointed row blocks, one of them ragged
@pytest.mark.parametrize("include_positive", [True, False])
def test_rows_with_a_bias_that_needs_its_gradient(batch_size, include_positive):
    z1, z2, w_a, w_b, bias = _inputs()
    bias.requires_grad_(True)
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    assert not pair_supported(a, 0.5, bias)  # a bias that needs a gradient takes the rows path
    la, lb = contrast_both(a, b, 0.5, batch_size, bias, include_positive)
    ra, rb = contrast_rows(a, b, 0.5, batch_size, bias, include_positive), contrast_rows(b, a, 0.5, batch_size, bias,
                                                                                         include_positive)
    assert torch.equal(la, ra) and torch.equal(lb, rb)
    na, nb = _naive(a, b, 0.5, bias, include_positive), _naive(b, a, 0.5, bias, include_positive)
    assert torch.allclose(la, na, atol=1e-10) and torch.allclose(lb, nb, atol=1e-10)
    got = torch.autograd.grad((w_a * la + w_b * lb).sum(), (z1, z2, bias), retain_graph=True)
    want = torch.autograd.grad((w_a * na + w_b * nb).sum(), (z1, z2, bias))
    for g, r in zip(got, want):
        assert torch.allclose(g, r, rtol=1e-8, atol=1e-10)
    assert got[2].abs().max() > 1e-3  # the bias gradient is not trivially zero
