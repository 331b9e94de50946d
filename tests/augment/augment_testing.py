"""Helpers for the augmenter tests (imported by name, like tests/kernels/kernels_testing.py)."""
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected


def make_graph(n: int = 30, p: float = 0.2, f: int = 6, seed: int = 0) -> Data:
    """Undirected random graph whose edge attributes encode their own endpoints, so alignment can be checked."""
    g = torch.Generator().manual_seed(seed)
    iu = torch.triu_indices(n, n, offset=1)
    keep = torch.rand(iu.size(1), generator=g) < p
    ei = coalesce(to_undirected(iu[:, keep]), num_nodes=n)
    code = (ei[0] * n + ei[1]).float()
    return Data(x=torch.randn(n, f, generator=g), edge_index=ei, edge_attr=torch.stack([code, -code], 1),
                edge_weight=code + 0.5, y=torch.arange(n), num_nodes=n)


def assert_edge_attrs_aligned(data: Data, n: int) -> None:
    code = (data.edge_index[0] * n + data.edge_index[1]).float()
    assert torch.equal(data.edge_attr[:, 0], code)
    assert torch.equal(data.edge_attr[:, 1], -code)
    assert torch.equal(data.edge_weight, code + 0.5)


def snapshot(data: Data) -> dict:
    return {k: (v, v.clone()) if isinstance(v, torch.Tensor) else (v, v) for k, v in data.items()}


def assert_unchanged(data: Data, snap: dict) -> None:
    assert set(data.keys()) == set(snap.keys())
    for k, (obj, copy) in snap.items():
        assert data[k] is obj
        if isinstance(copy, torch.Tensor):
            assert torch.equal(obj, copy), k


def is_undirected(ei: torch.Tensor, n: int) -> bool:
    a = set((ei[0] * n + ei[1]).tolist())
    b = set((ei[1] * n + ei[0]).tolist())
    return a == b
