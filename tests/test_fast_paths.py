"""The performance paths equal the plain ones: fused-gather aggregation, the shared two-direction InfoNCE core,
sparse CSR features through the first GCN layer and the column-scaling augmenters."""
import pytest
import torch

from graphcl.augment._utils import scale_columns
from graphcl.data import csbm
from graphcl.kernels import aggregate
from graphcl.losses import _contrast
from graphcl.losses._contrast import (contrast_pair, contrast_rows, dense_block_rows, normalize_pair,
                                       pair_supported)
from graphcl.methods import GRACE, resolve_config
from graphcl.nn import GCNEncoder


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_aggregate_with_src_equals_gather_then_aggregate(reduce, weighted):
    torch.manual_seed(0)
    x = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    src, dst = torch.randint(0, 7, (20,)), torch.randint(0, 6, (20,))
    w = torch.rand(20, dtype=torch.float64) if weighted else None
    fused = aggregate(x, dst, 6, reduce, edge_weight=w, src=src)
    plain = aggregate(x[src], dst, 6, reduce, edge_weight=w)
    assert torch.allclose(fused, plain)
    g_fused, = torch.autograd.grad(fused.square().sum(), x)
    g_plain, = torch.autograd.grad(plain.square().sum(), x)
    assert torch.allclose(g_fused, g_plain)


@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("dense_rows", [512, 4])  # 4: the kept (batch_size None) blocks span several row blocks
@pytest.mark.parametrize("include_positive", [True, False])  # False: DCL's denominators
def test_contrast_pair_equals_two_contrast_rows(batch_size, with_bias, dense_rows, include_positive, monkeypatch):
    monkeypatch.setitem(_contrast._DENSE_BLOCK, "cpu", dense_rows)
    torch.manual_seed(1)
    z1 = torch.randn(10, 5, requires_grad=True)
    z2 = torch.randn(10, 5, requires_grad=True)
    bias = 0.1 * torch.rand(10) if with_bias else None
    a, b = normalize_pair(z1, z2)
    assert pair_supported(a, 0.5, bias)
    la, lb = contrast_pair(a, b, 0.5, batch_size, bias, include_positive)
    ra = contrast_rows(a, b, 0.5, batch_size, bias, include_positive)
    rb = contrast_rows(b, a, 0.5, batch_size, bias, include_positive)
    assert torch.allclose(la, ra, atol=1e-5) and torch.allclose(lb, rb, atol=1e-5)
    g1 = torch.autograd.grad((la + 2 * lb).sum(), (z1, z2), retain_graph=True)
    g2 = torch.autograd.grad((ra + 2 * rb).sum(), (z1, z2))
    for x, y in zip(g1, g2):
        assert torch.allclose(x, y, atol=1e-5)


def test_dense_blocks_are_larger_on_a_gpu_than_on_a_cpu():
    assert dense_block_rows(torch.device("cpu")) == 512
    assert dense_block_rows(torch.device("cuda", 0)) == 4096
    assert dense_block_rows(torch.device("meta")) == 512  # any other device: the CPU's size


def test_sparse_features_through_the_encoder_equal_dense():
    torch.manual_seed(2)
    x = (torch.rand(30, 40) < 0.05).float() * torch.rand(30, 40)
    ei = torch.randint(0, 30, (2, 90))
    enc = GCNEncoder(40, 16, 8)
    dense = enc(x, ei)
    sparse = enc(x.to_sparse_csr(), ei)
    assert torch.allclose(dense, sparse, atol=1e-5)


def test_scale_columns_on_sparse_equals_dense_masking():
    x = (torch.rand(6, 9) < 0.3).float() * torch.rand(6, 9)
    scale = (torch.rand(9) > 0.5).float()
    assert torch.allclose(scale_columns(x.to_sparse_csr(), scale).to_dense(), x * scale)


def test_grace_trains_on_sparse_features_and_embeds_with_dense_ones():
    data = csbm(num_nodes=100, num_blocks=2, num_features=200, seed=0)
    # non-negative and 3% dense, like bag-of-words: row normalisation (the default) keeps the zeros
    data.x = data.x.abs() * (torch.rand(data.x.shape, generator=torch.Generator().manual_seed(0)) < 0.03)
    config = resolve_config(GRACE, "synthetic", overrides={"num_hidden": 8, "num_proj_hidden": 8})
    method = GRACE(data, config)
    assert method.train_data.x.layout == torch.sparse_csr and method.data.x.layout == torch.strided
    assert torch.isfinite(torch.tensor(method.train_epoch(1)))
    assert method.embed().shape == (100, 8)
