import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graphcl.nn import ACTIVATIONS, get_activation
from graphcl.nn.activation import RRELU_SLOPE


def test_names_and_fresh_modules():
    assert {"relu", "prelu", "rrelu", "rrelu_random", "elu", "gelu"} <= set(ACTIVATIONS)
    a, b = get_activation("prelu"), get_activation("PReLU")
    assert isinstance(a, nn.PReLU) and a.weight is not b.weight
    x = torch.linspace(-3, 3, 7)
    assert torch.allclose(get_activation("gelu")(x), x * 0.5 * (1 + torch.erf(x / 2 ** 0.5)),
                          atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_rrelu_is_the_references_fixed_slope(training):
    # GCA/CSGCL call F.rrelu(x) with its default training=False: slope (1/8 + 1/3) / 2 = 11/48, in training too
    act = get_activation("rrelu").train(training)
    x = torch.tensor([-4.0, -1.0, -0.5, 0.0, 2.0])
    expected = torch.tensor([-4.0 * 11 / 48, -11 / 48, -0.5 * 11 / 48, 0.0, 2.0])
    assert RRELU_SLOPE == pytest.approx(11 / 48)
    assert torch.allclose(act(x), expected, atol=1e-7)
    torch.manual_seed(0)
    assert torch.equal(act(x), F.rrelu(x))  # the reference's call, bit for bit


def test_rrelu_random_draws_slopes_while_training():
    act = get_activation("rrelu_random")
    x = -torch.ones(1000)
    torch.manual_seed(0)
    slopes = -act.train()(x)
    assert slopes.min() >= 1 / 8 and slopes.max() <= 1 / 3 and slopes.std() > 0.03  # uniform on [1/8, 1/3]
    assert torch.allclose(-act.eval()(x), torch.full((1000,), RRELU_SLOPE))


def test_errors():
    with pytest.raises(ValueError, match=r"'activation'.*'relu'.*\(got 'relux'\)"):
        get_activation("relux")
    with pytest.raises(TypeError, match="string"):
        get_activation(nn.ReLU())
