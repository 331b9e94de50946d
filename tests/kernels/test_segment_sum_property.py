"""Property test of the segment-sum reference against a dense one-hot product (hypothesis)."""
import pytest
import torch

from graphcl.kernels import segment_sum

pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


def dense_sum(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    h = torch.zeros(x.shape[0], k, dtype=torch.float64)
    h[torch.arange(x.shape[0]), labels] = 1.0
    return h.T @ x.double()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 40), d=st.integers(1, 6), k=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_reference_property(n, d, k, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    labels = torch.randint(0, k, (n,), generator=g)
    out = segment_sum(x, labels, k, backend="torch")
    assert torch.allclose(out, dense_sum(x, labels, k))
    assert torch.allclose(out.sum(0), x.sum(0))  # mass is conserved
