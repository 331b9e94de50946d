import pytest
import torch
from augment_testing import make_graph

from graphcl.augment import PPRDiffusion, ppr_diffusion


def _dense_ppr(ei, n, alpha):
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[0], ei[1]] = 1
    a = a + torch.eye(n, dtype=torch.float64)
    d = a.sum(1) ** -0.5
    t = d[:, None] * a * d[None, :]
    return alpha * torch.linalg.inv(torch.eye(n, dtype=torch.float64) - (1 - alpha) * t)


@pytest.mark.parametrize('alpha', [0.15, 0.5])
def test_matches_dense_inverse(alpha):
    data = make_graph(25, 0.2)
    ei, w = ppr_diffusion(data.edge_index, 25, alpha=alpha, eps=1e-7)
    sparse = torch.zeros(25, 25, dtype=torch.float64)
    sparse[ei[0], ei[1]] = w.double()
    dense = _dense_ppr(data.edge_index, 25, alpha)
    dense[dense < 1e-7] = 0
    assert torch.allclose(sparse, dense, atol=1e-5)
    assert torch.allclose(sparse, sparse.t(), atol=1e-7)  # undirected input: symmetric diffusion


def test_two_nodes_closed_form():
    # A + I = [[1,1],[1,1]], T = A~/2, S = alpha (I - (1-alpha) T)^-1
    ei, w = ppr_diffusion(torch.tensor([[0, 1], [1, 0]]), 2, alpha=0.5, eps=1e-9)
    s = torch.zeros(2, 2, dtype=torch.float64)
    s[ei[0], ei[1]] = w.double()
    expected = 0.5 * torch.linalg.inv(torch.eye(2, dtype=torch.float64) - 0.25 * torch.ones(2, 2, dtype=torch.float64))
    assert torch.allclose(s, expected, atol=1e-6)


def test_top_k_keeps_largest_per_row():
    data = make_graph(25, 0.3)
    full_ei, full_w = ppr_diffusion(data.edge_index, 25, alpha=0.2, eps=1e-6)
    ei, w = ppr_diffusion(data.edge_index, 25, alpha=0.2, eps=1e-6, top_k=3)
    assert torch.all(torch.bincount(ei[0], minlength=25) <= 3)
    for r in range(25):
        best = full_w[full_ei[0] == r].sort(descending=True).values[:3]
        assert torch.allclose(w[ei[0] == r].sort(descending=True).values, best)


def test_transform_sets_weights_drops_edge_attr_and_caches(graph):
    aug = PPRDiffusion(alpha=0.2, eps=1e-4)
    out = aug(graph)
    assert 'edge_attr' not in out and out.edge_weight.size(0) == out.edge_index.size(1)
    assert 'edge_attr' in graph  # input untouched
    again = aug(graph)
    assert again.edge_index is out.edge_index  # cached: same tensors, no recomputation
    other = make_graph(seed=5)
    assert aug(other).edge_index is not out.edge_index


def test_errors():
    with pytest.raises(ValueError, match="'alpha'"):
        PPRDiffusion(alpha=1.0)
    with pytest.raises(ValueError, match="'top_k'"):
        PPRDiffusion(top_k=0)
