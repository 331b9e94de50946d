import pytest
import torch

from graphcl.kernels import SegmentSumFunction, segment_sum, segment_sum_reference
from graphcl.kernels._backend import resolve_backend

from kernels_testing import assert_close_to, requires_cuda

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def dense_sum(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Independent oracle: one-hot matrix product H^T x in fp64."""
    h = torch.zeros(x.shape[0], k, dtype=torch.float64)
    h[torch.arange(x.shape[0]), labels] = 1.0
    return h.T @ x.double()


def test_hand_computed_both_backends(interpret):
    x = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])
    labels = torch.tensor([1, 0, 1])
    expected = torch.tensor([[3., 4.], [6., 8.], [0., 0.]])
    for backend in ("torch", "triton"):
        assert torch.equal(segment_sum(x, labels, 3, backend=backend), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,k", [(300, 5, 3), (7, 64, 1), (129, 70, 40), (50, 3, 1000)])
def test_triton_matches_oracle(interpret, dtype, n, d, k):
    torch.manual_seed(n + d + k)
    x = torch.randn(n, d).to(dtype)
    labels = torch.randint(0, k, (n,))
    exact = dense_sum(x, labels, k)
    assert_close_to(segment_sum(x, labels, k, backend="triton"), exact, dtype)
    assert_close_to(segment_sum(x, labels, k, backend="torch"), exact, dtype)


@pytest.mark.parametrize("block_n,programs", [(16, 3), (16, 100), (32, 1)])
def test_ragged_blocks_and_programs(interpret, block_n, programs):
    from graphcl.kernels._triton_segment_sum import segment_sum_triton
    torch.manual_seed(1)
    x = torch.randn(101, 20)  # 101 rows: not a multiple of any block, d not a power of 2
    labels = torch.randint(0, 5, (101,))
    labels[labels == 2] = 4  # cluster 2 is empty
    out = segment_sum_triton(x, labels, 6, block_n=block_n, block_k=16, block_d=16, programs=programs)
    assert_close_to(out, dense_sum(x, labels, 6), torch.float32)
    assert torch.equal(out[2], torch.zeros(20)) and torch.equal(out[5], torch.zeros(20))


def test_k_tiles_and_ieee_precision(interpret):
    from graphcl.kernels._triton_segment_sum import segment_sum_triton
    torch.manual_seed(2)
    x = torch.randn(70, 33)
    labels = torch.randint(0, 40, (70,))  # 40 clusters -> 3 K tiles of 16, 3 d tiles of 16
    exact = dense_sum(x, labels, 40)
    for precision in ("bf16x3", "tf32x3", "ieee"):
        out = segment_sum_triton(x, labels, 40, block_k=16, block_d=16, block_n=16, precision=precision)
        assert_close_to(out, exact, torch.float32)
    with pytest.raises(ValueError, match="precision"):
        segment_sum_triton(x, labels, 40, precision="tf32")


def test_fp32_split_is_exact_for_a_single_row(interpret):
    # one row per cluster: the sum is the value itself, so bf16x3 must reproduce fp32 bits
    torch.manual_seed(3)
    x = torch.randn(16, 16) * torch.logspace(-20, 20, 16).unsqueeze(1)
    out = segment_sum(x, torch.arange(16), 16, backend="triton")
    assert torch.equal(out, x)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_empty_inputs(interpret, backend):
    assert segment_sum(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 3, backend=backend).equal(
        torch.zeros(3, 4))
    assert segment_sum(torch.ones(2, 4), torch.zeros(2, dtype=torch.long), 0, backend=backend).shape == (0, 4)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_gradcheck_float64(interpret, backend):
    torch.manual_seed(4)
    x = torch.randn(19, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 4, (19,))
    assert torch.autograd.gradcheck(lambda t: segment_sum(t, labels, 5, backend=backend), (x,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_backward_is_gather(interpret, dtype):
    x = torch.randn(9, 4).to(dtype).requires_grad_()
    labels = torch.tensor([0, 2, 2, 1, 0, 2, 1, 1, 0])
    g = torch.randn(3, 4).to(dtype)
    segment_sum(x, labels, 3, backend="triton").backward(g)
    assert x.grad.dtype == dtype and torch.equal(x.grad, g[labels])


def test_validation_errors():
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="'labels'"):
        segment_sum(x, torch.zeros(3, dtype=torch.long), 2)
    with pytest.raises(TypeError, match="integer"):
        segment_sum(x, torch.zeros(4), 2)
    with pytest.raises(ValueError, match="'x'"):
        segment_sum(torch.randn(4), torch.zeros(4, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="num_segments"):
        segment_sum(x, torch.zeros(4, dtype=torch.long), -1)
    with pytest.raises(ValueError, match=r"'backend'.*\('auto', 'triton', 'torch'\).*'cuda'"):
        segment_sum(x, torch.zeros(4, dtype=torch.long), 2, backend="cuda")


def test_backend_resolution(monkeypatch):
    x = torch.randn(2, 2)
    monkeypatch.delenv("GRAPHCL_KERNELS_BACKEND", raising=False)
    assert resolve_backend("auto", x) == "torch"  # CPU tensor
    assert resolve_backend(None, x) == "torch"
    monkeypatch.setenv("GRAPHCL_KERNELS_BACKEND", "bogus")
    with pytest.raises(ValueError, match="bogus"):
        resolve_backend(None, x)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET"):
        resolve_backend("triton", x)


def test_autograd_function_exported():
    x = torch.randn(3, 2, requires_grad=True)
    out = SegmentSumFunction.apply(x, torch.tensor([0, 0, 1]), 2, "torch")
    assert torch.allclose(out, segment_sum_reference(x.detach(), torch.tensor([0, 0, 1]), 2))


@requires_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("k", [1, 16, 200, 1500])
def test_cuda_matches_reference(dtype, k):
    torch.manual_seed(5)
    x = torch.randn(10_001, 64, device="cuda").to(dtype)
    labels = torch.randint(0, k, (10_001,), device="cuda")
    out = segment_sum(x, labels, k)  # auto -> triton on CUDA
    assert_close_to(out.cpu(), dense_sum(x.cpu(), labels.cpu(), k), dtype)


@requires_cuda
@pytest.mark.parametrize("precision", ["bf16x3", "tf32x3", "ieee"])
@pytest.mark.parametrize("config", [{}, {"block_n": 256, "num_warps": 8, "num_stages": 4},
                                    {"block_n": 64, "programs": 7, "num_stages": 2}])
def test_cuda_precisions_and_configs_exact(precision, config):
    """Values on a 2^-10 grid with |x| <= 4 need 13 significant bits and every partial sum of
    <= 2,000 of them stays below 2^24 grid steps, so fp32 accumulation is exact in any order:
    each precision and launch configuration must give the exact sums, bit for bit."""
    from graphcl.kernels._triton_segment_sum import segment_sum_triton
    torch.manual_seed(6)
    x = (torch.randn(20_003, 64, device="cuda").clamp(-4, 4) * 1024).round() / 1024
    labels = torch.randint(0, 16, (20_003,), device="cuda")
    out = segment_sum_triton(x, labels, 16, precision=precision, **config)
    assert torch.equal(out.cpu().double(), dense_sum(x.cpu(), labels.cpu(), 16))
