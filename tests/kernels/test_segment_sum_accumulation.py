"""segment_sum accumulates fp16/bf16 inputs in fp32, on the torch fallback (CPU and CUDA) and the Triton kernel.

The inputs are chosen so that a running sum kept in the input's dtype visibly stalls: adding 1 to an fp16 2048
(or a bf16 256) rounds back to it, so summing thousands of ones in that dtype never gets past it, while an fp32
sum is exact and its total (a multiple of the dtype's spacing there) is exactly representable in the output.
On the CPU, torch's own ``index_add_`` already accumulates fp16/bf16 in fp32, so only the CUDA tests can catch an
accumulator in the input's dtype; the CPU test checks the same exact totals.
"""
import pytest
import torch

from graphcl.kernels import segment_sum

from kernels_testing import requires_cuda

requires_cuda_device = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# dtype, rows per segment: sums past the dtype's last exactly reachable running sum (fp16 2048, bf16 256)
CASES = [(torch.float16, 3000), (torch.bfloat16, 1000)]


def _stalling_input(dtype, per_segment, device):
    """Two segments of ``per_segment`` ones each (interleaved: a sum kept in the dtype stalls row by row), and one
    segment holding a large value followed by 4,096 increments of 2^-10, which even a block of 64 of them (1/16) is
    too small to move in the dtype (fp16's spacing at 1024 and bf16's at 128 are both 1): a blocked low-precision
    accumulator loses them too. Exact totals: ``per_segment`` and the large value + 4."""
    ones = torch.ones(2 * per_segment, 3, dtype=dtype, device=device)
    labels = torch.arange(2 * per_segment, device=device) % 2
    big = torch.full((1, 3), 1024.0 if dtype == torch.float16 else 128.0, dtype=dtype, device=device)
    small = torch.full((4096, 3), 2.0 ** -10, dtype=dtype, device=device)
    x = torch.cat([ones, big, small])
    labels = torch.cat([labels, torch.full((4097,), 2, device=device)])
    expected = torch.tensor([per_segment, per_segment, float(big[0, 0]) + 4.0], dtype=torch.float64)
    return x, labels, expected.unsqueeze(1).expand(3, 3)


def _running_sum(value, count, dtype):
    """A running sum kept in ``dtype``, one addition at a time (what an accumulator in the input's dtype does)."""
    total, step = torch.zeros((), dtype=dtype), torch.tensor(value, dtype=dtype)
    for _ in range(count):  # loop over additions: the rounding after each one is the point
        total = total + step
    return float(total)


def _check(dtype, per_segment, device, backend):
    x, labels, expected = _stalling_input(dtype, per_segment, device)
    out = segment_sum(x, labels, 3, backend=backend)
    assert out.dtype == dtype
    assert torch.equal(out.double().cpu(), expected)
    # an accumulator in the input's dtype would stall below these totals: the test tells the two apart
    assert _running_sum(1.0, per_segment, dtype) < per_segment


@pytest.mark.parametrize("dtype,per_segment", CASES)
def test_torch_fallback_accumulates_in_fp32_on_cpu(dtype, per_segment):
    _check(dtype, per_segment, "cpu", "torch")


@requires_cuda_device
@pytest.mark.parametrize("dtype,per_segment", CASES)
def test_torch_fallback_accumulates_in_fp32_on_cuda(dtype, per_segment):
    _check(dtype, per_segment, "cuda", "torch")


@requires_cuda
@pytest.mark.parametrize("dtype,per_segment", CASES)
def test_triton_kernel_accumulates_in_fp32_on_cuda(dtype, per_segment):
    _check(dtype, per_segment, "cuda", "triton")


@pytest.mark.parametrize("dtype,per_segment", CASES)
def test_triton_kernel_accumulates_in_fp32_interpreted(interpret, dtype, per_segment):
    _check(dtype, per_segment, "cpu", "triton")  # the kernel's own arithmetic, run by Triton's interpreter
