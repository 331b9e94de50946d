"""fit() stops on a NaN or infinite loss with one line that names the cause: non-finite input tensors (by name and
count), else the config keys to change (``lr``, ``matmul_precision``), never keys the method does not have."""
import pytest

from graphcl.data import csbm
from graphcl.methods import get_method, resolve_config
from graphcl.train import fit


def _method(name, data, **overrides):
    cls = get_method(name)
    return cls(data, resolve_config(cls, "synthetic", overrides={"epochs": 3, **overrides}))


def test_nonfinite_input_is_named_as_the_cause():
    data = csbm(num_nodes=60, num_blocks=3, num_features=8, seed=1)
    data.x[3, :2] = float("nan")
    data.x[7, 0] = float("inf")
    with pytest.raises(FloatingPointError, match=r"^grace: the loss is not finite at epoch 1 because the input is "
                                                 r"not: data\.x holds 3 NaN or infinite entries \(of 480\)\. ") as err:
        fit(_method("grace", data), 3, progress=False)
    assert "\n" not in str(err.value) and "'lr'" not in str(err.value)


@pytest.mark.parametrize("name", ["grace", "ggd"])
def test_diverging_loss_names_real_config_keys(name):
    data = csbm(num_nodes=60, num_blocks=3, num_features=8, seed=1)
    pattern = (rf"^{name}: the loss became NaN or infinite at epoch \d+; lower 'lr' \(now 1e\+30\) or set "
               r"'matmul_precision' to highest \(now medium\)$")
    with pytest.raises(FloatingPointError, match=pattern):
        fit(_method(name, data, lr=1e30), 3, progress=False, precision="medium")
