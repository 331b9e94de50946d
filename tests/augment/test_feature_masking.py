import pytest
import torch

from graphcl.augment import FeatureMasking


def test_whole_columns_and_rate(graph):
    x = graph.x
    aug = FeatureMasking(0.3, generator=torch.Generator().manual_seed(0))
    rates = []
    for _ in range(400):
        out = aug(graph).x
        zero_cols = (out == 0).all(0)
        assert torch.equal(out[:, ~zero_cols], x[:, ~zero_cols])  # kept columns untouched, no rescaling
        rates.append(zero_cols.float().mean().item())
    assert abs(sum(rates) / len(rates) - 0.3) < 0.03


def test_hand_checked():
    from torch_geometric.data import Data
    x = torch.arange(1.0, 9.0).view(2, 4)
    keep = torch.rand(4, generator=torch.Generator().manual_seed(5)) >= 0.5
    out = FeatureMasking(0.5, generator=torch.Generator().manual_seed(5))(Data(x=x))
    assert torch.equal(out.x, x * keep)


def test_errors():
    with pytest.raises(ValueError, match="'p'"):
        FeatureMasking(-0.5)
