import pytest
import torch

from graphcl.kernels import csr_aggregate, csr_aggregate_reference, index_to_rowptr, rowptr_to_index

from kernels_testing import assert_close_to, requires_cuda

REDUCES = ["sum", "mean", "max"]
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def naive(messages, rowptr, reduce, weight=None):
    """Independent oracle: a python loop over nodes in fp64 (tiny inputs only)."""
    m = messages.double()
    if weight is not None:
        m = m * weight.double().unsqueeze(-1)
    out = torch.zeros(rowptr.numel() - 1, m.shape[1], dtype=torch.float64)
    for v in range(rowptr.numel() - 1):
        seg = m[int(rowptr[v]):int(rowptr[v + 1])]
        if len(seg):
            out[v] = {"sum": seg.sum(0), "mean": seg.mean(0), "max": seg.max(0).values}[reduce]
    return out


def random_csr(n, max_deg, seed, hub=None):
    g = torch.Generator().manual_seed(seed)
    deg = torch.randint(0, max_deg + 1, (n,), generator=g)
    if n:
        deg[0] = 0  # a node without incoming edges
    if hub is not None:
        deg[hub] = 3 * max_deg + 5  # several BLOCK_E chunks
    return torch.cat([torch.zeros(1, dtype=torch.long), deg.cumsum(0)])


def test_hand_computed(interpret):
    m = torch.tensor([[1., -1.], [2., 5.], [4., 0.]])
    rowptr = torch.tensor([0, 2, 2, 3])
    expected = {"sum": [[3., 4.], [0., 0.], [4., 0.]],
                "mean": [[1.5, 2.], [0., 0.], [4., 0.]],
                "max": [[2., 5.], [0., 0.], [4., 0.]]}
    for backend in ("torch", "triton"):
        for reduce in REDUCES:
            out = csr_aggregate(m, rowptr, reduce, backend=backend)
            assert out.tolist() == expected[reduce], (backend, reduce)
        w = torch.tensor([1., 0.5, 2.])
        assert csr_aggregate(m, rowptr, "sum", w, backend=backend).tolist() == [[2., 1.5], [0., 0.], [8., 0.]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_naive(interpret, dtype, reduce, weighted):
    rowptr = random_csr(13, 6, seed=0, hub=5)  # 13 rows: not a multiple of BLOCK_R=8
    e = int(rowptr[-1])
    torch.manual_seed(1)
    m = torch.randn(e, 5).to(dtype)
    w = torch.rand(e) + 0.5 if weighted else None
    exact = naive(m, rowptr, reduce, w)
    for backend in ("triton", "torch"):
        assert_close_to(csr_aggregate(m, rowptr, reduce, w, backend=backend), exact, dtype)


@pytest.mark.parametrize("reduce", REDUCES)
def test_block_configs(interpret, reduce):
    from graphcl.kernels._triton_csr import csr_aggregate_triton
    rowptr = random_csr(11, 9, seed=2, hub=10)
    m = torch.randn(int(rowptr[-1]), 37)  # 3 feature tiles of 16
    exact = naive(m, rowptr, reduce)
    for br, be in [(1, 4), (4, 8), (16, 16)]:
        out, arg = csr_aggregate_triton(m, rowptr, reduce, block_r=br, block_e=be, block_d=16)
        assert_close_to(out, exact, torch.float32)
        _, ref_arg = csr_aggregate_reference(m, rowptr, reduce)
        assert (arg is None) == (ref_arg is None)
        if arg is not None:
            assert torch.equal(arg, ref_arg)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_no_edges_and_no_nodes(interpret, backend):
    for reduce in REDUCES:
        out = csr_aggregate(torch.zeros(0, 3), torch.zeros(5, dtype=torch.long), reduce, backend=backend)
        assert torch.equal(out, torch.zeros(4, 3))
        assert csr_aggregate(torch.zeros(0, 3), torch.zeros(1, dtype=torch.long), reduce,
                             backend=backend).shape == (0, 3)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_max_ties_and_infinities(interpret, backend):
    m = torch.tensor([[1., float("-inf")], [1., float("-inf")], [0., float("-inf")]], requires_grad=True)
    rowptr = torch.tensor([0, 3])
    out = csr_aggregate(m, rowptr, "max", backend=backend)
    assert out.tolist() == [[1., float("-inf")]]
    out.backward(torch.tensor([[1., 2.]]))
    # the gradient goes to the first edge attaining the maximum
    assert m.grad.tolist() == [[1., 2.], [0., 0.], [0., 0.]]


@pytest.mark.parametrize("backend", ["torch", "triton"])
@pytest.mark.parametrize("reduce", REDUCES)
def test_gradcheck_float64(interpret, backend, reduce):
    rowptr = torch.tensor([0, 3, 3, 4, 8])
    torch.manual_seed(3)
    m = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    w = (torch.rand(8, dtype=torch.float64) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: csr_aggregate(a, rowptr, reduce, b, backend=backend), (m, w))
    assert torch.autograd.gradcheck(lambda a: csr_aggregate(a, rowptr, reduce, backend=backend), (m,))


def test_rowptr_to_index():
    assert rowptr_to_index(torch.tensor([0, 2, 2, 5])).tolist() == [0, 0, 2, 2, 2]


def test_index_to_rowptr_counts_rows_in_any_order():
    assert index_to_rowptr(torch.tensor([2, 0, 2, 2, 0]), 4).tolist() == [0, 2, 2, 5, 5]
    assert index_to_rowptr(rowptr_to_index(torch.tensor([0, 2, 2, 5])), 3).tolist() == [0, 2, 2, 5]
    assert rowptr_to_index(torch.tensor([0])).tolist() == []


def test_validation_errors():
    m = torch.randn(3, 2)
    with pytest.raises(ValueError, match=r"'reduce'.*\('sum', 'mean', 'max'\).*'min'"):
        csr_aggregate(m, torch.tensor([0, 3]), "min")
    with pytest.raises(ValueError, match="rowptr"):
        csr_aggregate(m, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="edge_weight"):
        csr_aggregate(m, torch.tensor([0, 3]), edge_weight=torch.ones(2))
    with pytest.raises(TypeError, match="rowptr"):
        csr_aggregate(m, torch.tensor([0., 3.]))


@requires_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduce", REDUCES)
def test_cuda_matches_reference(dtype, reduce):
    rowptr = random_csr(3001, 40, seed=4, hub=7)
    m = torch.randn(int(rowptr[-1]), 64).to(dtype)
    w = torch.rand(m.shape[0])
    ref, _ = csr_aggregate_reference(m, rowptr, reduce, w)
    out = csr_aggregate(m.cuda(), rowptr.cuda(), reduce, w.cuda())
    assert_close_to(out.cpu(), naive(m, rowptr, reduce, w), dtype)


@requires_cuda
@pytest.mark.parametrize("config", [{"block_r": 1, "block_e": 32}, {"block_r": 16, "block_e": 8, "num_warps": 8},
                                    {"block_r": 4, "block_e": 16, "num_stages": 1}])
def test_cuda_configs(config):
    from graphcl.kernels._triton_csr import csr_aggregate_triton
    rowptr = random_csr(2001, 30, seed=8, hub=5)
    m = torch.randn(int(rowptr[-1]), 48)
    for reduce in REDUCES:
        out, _ = csr_aggregate_triton(m.cuda(), rowptr.cuda(), reduce, **config)
        assert_close_to(out.cpu(), naive(m, rowptr, reduce, None), torch.float32)
