import pytest
import torch

from graphcl.kernels import aggregate

REDUCES = ["sum", "mean", "max"]


def sorted_graph(n, e, seed):
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(0, n, (e,), generator=g).sort().values
    index[index == 1] = 2  # node 1 has no incoming edges
    index = index.sort().values
    rowptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.bincount(index, minlength=n).cumsum(0)])
    return index, rowptr


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("shape", [(4,), (3, 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_with_and_without_rowptr_agree(interpret, reduce, shape, weighted, backend):
    index, rowptr = sorted_graph(7, 30, seed=0)
    torch.manual_seed(1)
    m1 = torch.randn(30, *shape, dtype=torch.float64, requires_grad=True)
    m2 = m1.detach().clone().requires_grad_()
    w = torch.rand(30, dtype=torch.float64) + 0.5 if weighted else None
    a = aggregate(m1, index, 7, reduce, w)
    b = aggregate(m2, index, 7, reduce, w, rowptr=rowptr, backend=backend)
    assert a.shape == b.shape == (7, *shape)
    assert torch.allclose(a, b)
    assert torch.equal(b[1], torch.zeros(shape, dtype=torch.float64))
    g = torch.randn_like(a)
    a.backward(g)
    b.backward(g)
    assert torch.allclose(m1.grad, m2.grad)


def test_hand_computed_multi_head():
    m = torch.arange(12.).view(3, 2, 2)  # E=3, H=2, d=2
    out = aggregate(m, torch.tensor([2, 0, 2]), 3, "sum")
    assert out.shape == (3, 2, 2)
    assert out[2].tolist() == [[8., 10.], [12., 14.]] and out[1].tolist() == [[0., 0.], [0., 0.]]


def test_validation_errors():
    m = torch.randn(3, 2)
    idx = torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match=r"'reduce'.*\('sum', 'mean', 'max'\).*'prod'"):
        aggregate(m, idx, 2, "prod")
    with pytest.raises(ValueError, match="'index'"):
        aggregate(m, idx[:2], 2)
    with pytest.raises(ValueError, match="rowptr"):
        aggregate(m, idx, 2, rowptr=torch.tensor([0, 1, 3, 3]))
