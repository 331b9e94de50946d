import pytest
import torch
from torch_geometric.data import Data

from graphcl.augment import FeatureDropout


def test_drops_with_probability_p_not_one_minus_p():
    # PyGCL's FeatureDropout(pf) dropped with probability 1 - pf; ours drops with probability p
    data = Data(x=torch.ones(200, 50))
    out = FeatureDropout(0.2, generator=torch.Generator().manual_seed(0))(data)
    assert abs((out.x == 0).float().mean().item() - 0.2) < 0.02
    assert set(out.x.unique().tolist()) <= {0.0, 1.0}


def test_rescale_keeps_expectation():
    data = Data(x=torch.full((200, 50), 2.0))
    out = FeatureDropout(0.5, rescale=True, generator=torch.Generator().manual_seed(1))(data)
    assert set(out.x.unique().tolist()) <= {0.0, 4.0}
    assert abs(out.x.mean().item() - 2.0) < 0.1


def test_hand_checked():
    x = torch.arange(1.0, 7.0).view(2, 3)
    keep = torch.rand(2, 3, generator=torch.Generator().manual_seed(2)) >= 0.4
    out = FeatureDropout(0.4, generator=torch.Generator().manual_seed(2))(Data(x=x))
    assert torch.equal(out.x, x * keep)


def test_errors():
    with pytest.raises(ValueError, match="'p' < 1"):
        FeatureDropout(1.0, rescale=True)
    assert repr(FeatureDropout(0.1)) == 'FeatureDropout(p=0.1, rescale=False)'
