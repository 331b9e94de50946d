import pytest
import torch
from torch import nn

from graphcl.nn import ACTIVATIONS, get_activation


def test_names_and_fresh_modules():
    assert {"relu", "prelu", "rrelu", "elu", "gelu"} <= set(ACTIVATIONS)
    a, b = get_activation("prelu"), get_activation("PReLU")
    assert isinstance(a, nn.PReLU) and a.weight is not b.weight
    assert isinstance(get_activation("rrelu"), nn.RReLU)
    x = torch.linspace(-3, 3, 7)
    assert torch.allclose(get_activation("gelu")(x), x * 0.5 * (1 + torch.erf(x / 2 ** 0.5)),
                          atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"'activation'.*'relu'.*\(got 'relux'\)"):
        get_activation("relux")
    with pytest.raises(TypeError, match="string"):
        get_activation(nn.ReLU())
