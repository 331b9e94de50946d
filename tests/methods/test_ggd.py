import math

import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from graphcl.data import csbm
from graphcl.losses import GroupDiscriminationLoss, group_discrimination
from graphcl.methods import GGD, get_method, resolve_config
from graphcl.nn import GCNEncoder, LowPassFilter
from graphcl.train import fit, load_checkpoint


def _data(num_features=16):
    return csbm(num_nodes=80, num_blocks=2, num_features=num_features, p_in=0.15, p_out=0.01, seed=0)


def _config(**overrides):
    return resolve_config(GGD, "synthetic", overrides={"num_hidden": 16, "epochs": 5, **overrides})


def _dense_filter(edge_index, n):
    ei, w = gcn_norm(edge_index, None, n, add_self_loops=True)
    a = torch.zeros(n, n)
    a.index_put_((ei[1], ei[0]), w, accumulate=True)
    return a


# ------------------------------------------------------------------ loss
def test_group_discrimination_hand_computed():
    positive = torch.tensor([[1.0, 1.0], [0.5, -0.5]])  # logits 2, 0
    corrupted = torch.tensor([[0.0, -1.0]])  # logit -1
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = -(math.log(sig(2)) + math.log(sig(0)) + math.log(1 - sig(-1))) / 3
    assert group_discrimination(positive, corrupted).item() == pytest.approx(expected, rel=1e-6)
    assert GroupDiscriminationLoss()(positive, corrupted).item() == pytest.approx(expected, rel=1e-6)


def test_group_discrimination_is_blind_to_the_order_within_a_group():
    pos, neg = torch.randn(6, 3), torch.randn(6, 3)
    assert torch.allclose(group_discrimination(pos, neg), group_discrimination(pos.flip(0), neg[torch.randperm(6)]))


def test_group_discrimination_errors():
    with pytest.raises(ValueError, match="width"):
        group_discrimination(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="non-empty"):
        group_discrimination(torch.zeros(0, 3), torch.zeros(2, 3))


# ------------------------------------------------------------------ filter
@pytest.mark.parametrize("steps", [0, 1, 4])
def test_low_pass_filter_equals_dense_power(steps):
    data = _data()
    a = _dense_filter(data.edge_index, data.num_nodes)
    expected = torch.linalg.matrix_power(a, steps) @ data.x
    assert torch.allclose(LowPassFilter(steps)(data.x, data.edge_index), expected, atol=1e-5)
    with pytest.raises(ValueError, match="steps"):
        LowPassFilter(-1)


def test_low_pass_filter_follows_edge_direction_and_passes_gradients():
    edge_index = torch.tensor([[0, 1, 2, 0], [1, 2, 3, 3]])  # directed: messages flow source -> target, as in GCN
    x = torch.randn(4, 3, requires_grad=True)
    a = _dense_filter(edge_index, 4)
    y = LowPassFilter(2)(x, edge_index)
    assert torch.allclose(y, a @ a @ x, atol=1e-6)
    y.sum().backward()
    assert torch.allclose(x.grad, (a @ a).sum(0).unsqueeze(1).expand(4, 3), atol=1e-6)


# ------------------------------------------------------------------ method
def test_registered_with_the_reference_settings():
    assert get_method("ggd") is GGD
    d = GGD.defaults  # the authors' manual_version/execute.py
    assert (d["num_hidden"], d["lr"], d["num_layers"], d["activation"], d["drop_feature_rate"], d["power"]) == \
        (512, 0.001, 1, "prelu", 0.2, 5)
    # Dink-Net's GGD pretraining (pretrain/README.md): hidden, lr, epochs
    for name, expected in {"Cora": (512, 1e-3, 200), "CiteSeer": (1536, 5e-4, 200), "Photo": (512, 1e-3, 500)}.items():
        c = resolve_config(GGD, name)
        assert (c["num_hidden"], c["lr"], c["epochs"]) == expected


def test_corruption_by_relabelling_equals_feature_shuffling():
    # f(X[perm], A) = f(X, perm[A])[perm]: the loss's corrupted group is the same set of rows
    data = _data()
    enc = GCNEncoder(16, 8, 8, num_layers=1, activation="prelu")
    perm = torch.randperm(data.num_nodes, generator=torch.Generator().manual_seed(1))
    shuffled = enc(data.x[perm], data.edge_index)
    relabelled = enc(data.x, perm[data.edge_index])
    assert torch.allclose(shuffled, relabelled[perm], atol=1e-5)


def test_embeddings_are_local_plus_propagated():
    data = _data()
    method = GGD(data, _config(power=3))
    h = method.model["encoder"](method.data.x, data.edge_index)
    a = _dense_filter(data.edge_index, data.num_nodes)
    assert torch.allclose(method.embed(), h + torch.linalg.matrix_power(a, 3) @ h, atol=1e-5)
    assert torch.allclose(method.data.x.sum(1), torch.ones(80))  # the reference row-normalises the features


def test_training_lowers_the_loss_and_is_seeded():
    data = _data()
    losses = fit(GGD(data, _config(epochs=40, lr=0.01, normalize_features=False)), 40, progress=False)
    assert losses[-1] < min(losses[0], math.log(2)) - 0.05  # below chance: the groups are told apart
    again = fit(GGD(data, _config(epochs=40, lr=0.01, normalize_features=False)), 40, progress=False)
    assert losses == again


def test_sparse_features_give_the_dense_loss():
    data = _data(num_features=200)
    data.x = data.x.abs() * (torch.rand(data.x.shape, generator=torch.Generator().manual_seed(0)) < 0.03)
    method = GGD(data, _config())
    assert method.train_data.x.layout == torch.sparse_csr
    state = method.generator.get_state()
    sparse = method.training_step(1)
    method.generator.set_state(state)
    method.train_data = method.data
    assert torch.allclose(sparse, method.training_step(1), atol=1e-5)


def test_config_errors():
    data = _data()
    for key, value in (("power", -1), ("num_layers", 0), ("num_proj_layers", 0)):
        with pytest.raises(ValueError, match=key):
            GGD(data, _config(**{key: value}))


def test_resume_matches_uninterrupted(tmp_path):
    data = _data()
    config = _config(normalize_features=False)
    straight = fit(GGD(data, config), 6, progress=False)
    fit(GGD(data, config), 3, tmp_path, checkpoint_every=3, progress=False)
    resumed = GGD(data, {**config, "seed": 7})  # the checkpoint restores parameters and the random stream
    assert fit(resumed, 6, checkpoint=load_checkpoint(tmp_path), progress=False) == pytest.approx(straight, rel=1e-5)
