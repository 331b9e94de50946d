import math

import pytest
import torch

from recsys.config import build_config
from recsys.models.coldstart_cl import ColdStartCL, field_dropout_mask, masked_softmax
from recsys.pipeline import load_data

SMALL = {'user_inter_num_interval': '[20,22]', 'embedding_size': 8, 'n_heads': 2, 'epochs': 1, 'device': 'cpu',
         'train_batch_size': 128, 'eval_batch_size': 512}


@pytest.fixture(scope='module')
def data():
    """``(config, train)`` of the small ml-100k slice with user and item features."""
    config = build_config(ColdStartCL, 'ml-100k', dict(SMALL))
    return config, load_data(config)[1]


def _model(data, **overrides):
    config, train = data
    torch.manual_seed(0)
    return ColdStartCL(build_config(ColdStartCL, 'ml-100k', {**SMALL, **overrides}),
                       train.dataset)


def test_fields_are_read_bucketed_and_include_context(data):
    model = _model(data)
    assert model.users.names == ['id', 'age', 'gender', 'occupation', 'zip_code', 'activity', 'hour', 'weekday']
    assert model.items.names == ['id', 'release_year', 'class', 'movie_title']
    dataset = data[1].dataset
    ages = dataset.field2id_token['age']
    table = model.users.table_1[:, 0]
    user = int(torch.nonzero(table > 0)[0])
    age = int(ages[int(dataset.get_user_feature()['age'][user])])
    bounds = [18, 25, 35, 45, 50, 56]
    assert int(table[user]) == 1 + sum(age >= b for b in bounds)
    assert int(model.users.table_2.max()) <= 2  # gender: two tokens
    assert int(model.items.table_2.gt(0).sum(1).max()) > 1  # several genres per item
    jackie = int(dataset.token2id(dataset.iid_field, '346'))  # item 346 of ml-100k.item: "Jackie Brown"
    words = dataset.field2id_token['movie_title'][model.items.table_3[jackie]]
    assert ' '.join(w for w in words if w != '[PAD]') == 'Jackie Brown'  # title words, in order
    trained = torch.bincount(dataset.inter_feat['user_id'], minlength=dataset.user_num)
    assert torch.equal(model.users.table_0[:, 0] > 0, trained > 0)  # no training interaction: no ID field


def test_a_user_without_training_interactions_has_only_its_attributes(tmp_path):
    from recsys.coldstart import cold_start_data
    config = build_config(ColdStartCL, 'ml-100k', dict(SMALL))
    from recbole.data import create_dataset
    split = cold_start_data(config, create_dataset(config), 0, 0.2, seed=1)
    model = ColdStartCL(config, split.train.dataset)
    cold = torch.nonzero(torch.from_numpy(split.cold)).flatten()
    available = model.users.fields(cold)[1]
    names = model.users.names
    for field in ('id', 'activity', 'hour', 'weekday'):  # no embedding that training never reaches
        assert not available[:, names.index(field)].any(), field
    assert available[:, names.index('gender')].all()
    activity = model.users.table_5[:, 0]
    trained = torch.bincount(split.train.dataset.inter_feat['user_id'], minlength=split.train.dataset.user_num)
    assert torch.equal(activity[trained > 0], torch.floor(torch.log2(trained[trained > 0].float())).long() + 1)


def test_masked_softmax_is_a_distribution_over_the_mask():
    torch.manual_seed(0)
    logits, mask = torch.randn(6, 5), torch.rand(6, 5) > 0.4
    mask[0] = False
    w = masked_softmax(logits, mask, temperature=0.5)
    assert torch.all(w[~mask] == 0)
    assert torch.allclose(w[1:].sum(1), torch.ones(5)) and torch.all(w[0] == 0)


@pytest.mark.parametrize('gate', ['softmax', 'none'])
def test_gate_weights_per_example(data, gate):
    model = _model(data, gate=gate).eval()
    users = torch.arange(1, model.n_users)
    _, w, mask = model.users(users)
    assert torch.all(w[~mask] == 0)
    assert torch.allclose(w.sum(1), torch.ones(len(users)))
    if gate == 'none':
        assert torch.allclose(w[mask], (1.0 / mask.sum(1, keepdim=True)).expand_as(w)[mask])
    importance = model.field_importance()
    assert set(importance['user']) == set(model.users.names)
    assert math.isclose(sum(importance['user'].values()), 1.0, rel_tol=1e-5)


def test_field_dropout_invariants():
    gen = torch.Generator().manual_seed(0)
    available = torch.rand(200, 6, generator=gen) > 0.3
    available[:, 0] = True
    assert torch.equal(field_dropout_mask(available, 0.0, generator=gen), available)
    for p in (0.5, 1.0):
        keep = field_dropout_mask(available, p, generator=gen)
        assert not (keep & ~available).any()
        assert keep.any(1).all()  # every row keeps a field
        cold = field_dropout_mask(available, p, drop_first=True, generator=gen)
        assert not cold[:, 0].any()
        has_side = available[:, 1:].any(1)
        assert torch.equal(cold.any(1), has_side)
    with pytest.raises(ValueError, match=r"field dropout 'p' in \[0, 1\] \(got 1.5\)"):
        field_dropout_mask(available, 1.5)


def test_views_drop_the_id_in_the_cold_view(data):
    model = _model(data, field_dropout=0.0, id_dropout=1.0).eval()
    users = torch.arange(1, 20)
    _, available = model.users.fields(users)
    v1, v2 = model._views(model.users, users)
    assert torch.allclose(v1, model.users(users)[0])
    without_id = available.clone()
    without_id[:, 0] = False
    assert torch.allclose(v2, model.users(users, without_id)[0])
    assert not torch.allclose(v1, v2)


def _naive_info_nce(z1, z2, tau):
    """GRACE InfoNCE from its formula: cosine similarities, inter- and intra-view negatives, both directions."""
    z1, z2 = torch.nn.functional.normalize(z1, dim=1), torch.nn.functional.normalize(z2, dim=1)
    n, total = z1.size(0), 0.0
    for a, b in ((z1, z2), (z2, z1)):
        for i in range(n):
            pos = math.exp(float(a[i] @ b[i]) / tau)
            neg = sum(math.exp(float(a[i] @ b[k]) / tau) for k in range(n) if k != i)
            neg += sum(math.exp(float(a[i] @ a[k]) / tau) for k in range(n) if k != i)
            total += -math.log(pos / (pos + neg))
    return total / (2 * n)


def test_loss_adds_the_weighted_info_nce_of_the_views(data):
    batch = next(iter(data[1]))
    settings = dict(field_dropout=0.0, id_dropout=1.0, cl_temperature=0.5, gate_reg_weight=0.0, rec_id_dropout=0.0)
    plain = _model(data, cl_weight=0.0, **settings).eval()
    model = _model(data, cl_weight=0.3, **settings).eval()
    model.load_state_dict(plain.state_dict())
    users, items = torch.unique(batch['user_id']), torch.unique(batch['item_id'])
    with torch.no_grad():
        expected = sum(_naive_info_nce(*model._views(side, ids), 0.5)
                       for side, ids in ((model.users, users), (model.items, items)))
        difference = model.calculate_loss(batch) - plain.calculate_loss(batch)
    assert difference.item() == pytest.approx(0.3 * expected, rel=1e-4)


def test_hand_computed_info_nce_case():
    from graphcl.losses import info_nce
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # each anchor: positive cos 1, one inter-view and one intra-view negative of cos 0
    assert info_nce(z, z, 1.0).item() == pytest.approx(-math.log(math.e / (math.e + 2)), rel=1e-6)
    assert _naive_info_nce(z, z, 1.0) == pytest.approx(-math.log(math.e / (math.e + 2)), rel=1e-9)


@pytest.mark.parametrize('fusion', ['attention', 'mlp', 'sum'])
@pytest.mark.parametrize('loss_type', ['CE', 'BPR'])
def test_fusions_train_and_score(data, fusion, loss_type):
    model = _model(data, fusion=fusion, loss_type=loss_type)
    batch = next(iter(data[1]))
    loss = model.calculate_loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.users.embeddings[1].weight.grad.abs().sum() > 0  # side information is trained
    users = {'user_id': torch.tensor([1, 2])}
    scores = model.full_sort_predict(users).view(2, -1)
    pair = model.predict({'user_id': torch.tensor([1, 2]), 'item_id': torch.tensor([5, 7])})
    assert torch.allclose(pair, scores[[0, 1], [5, 7]], atol=1e-5)


def test_shared_user_vector_adds_a_popularity_prior(data):
    model = _model(data, shared_user_vector=True).eval()
    users = torch.tensor([1, 2, 2])
    with torch.no_grad():
        model.shared_user.copy_(torch.linspace(-1, 1, model.embedding_size))
        items = model.items(torch.arange(model.n_items))[0]
        expected = (model.users(users)[0] + model.shared_user) @ items.t()  # <r_u + c, r_i>
        assert torch.allclose(model.full_sort_predict({'user_id': users}).view(3, -1), expected, atol=1e-5)
        # a repeated user gets the same row: each distinct user is encoded once
        assert torch.equal(model.encode(users)[0][0][1], model.encode(users)[0][0][2])
    assert _model(data).shared_user is None  # off by default


def test_item_bias_adds_b_i_and_an_item_without_training_interactions_gets_none(data):
    model = _model(data).eval()
    users = torch.tensor([1, 2])
    with torch.no_grad():
        model.item_bias.weight.copy_(torch.linspace(-2, 2, model.n_items)[:, None])
        model.items.table_0[5] = 0  # item 5 as if it had no training interaction
        items = model.items(torch.arange(model.n_items))[0]
        bias = torch.linspace(-2, 2, model.n_items) * (model.items.table_0[:, 0] > 0)  # 0 for untrained items
        assert bias[5] == 0 and bias[0] == 0 and bias.count_nonzero() > 100
        expected = model.users(users)[0] @ items.t() + bias  # <r_u, r_i> + b_i
        assert torch.allclose(model.full_sort_predict({'user_id': users}).view(2, -1), expected, atol=1e-5)
        pair = model.predict({'user_id': users, 'item_id': torch.tensor([5, 9])})
        assert torch.allclose(pair, expected[[0, 1], [5, 9]], atol=1e-5)
    model.train()
    batch = {'user_id': torch.tensor([1, 2, 3]), 'item_id': torch.tensor([4, 9, 9])}
    model.cl_weight = model.gate_reg_weight = 0.0
    with torch.no_grad():
        logits = model.encode(batch['user_id'])[0][0] @ model.items(torch.arange(model.n_items))[0].t() + bias
        logits[:, 0] = float('-inf')
        expected_loss = torch.nn.functional.cross_entropy(logits, batch['item_id'])
    assert torch.allclose(model.calculate_loss(batch), expected_loss, atol=1e-5)  # the CE sees b_i too
    assert _model(data, item_bias=False).item_bias is None


def test_rec_id_dropout_hides_the_id_of_distinct_users(data):
    model = _model(data)
    users = torch.tensor([3, 1, 3, 2])
    torch.manual_seed(0)
    mask = model.encode(users, id_dropout=1.0)[0][2]
    assert not mask[:, 0].any() and torch.equal(mask[:, 1:], model.users.fields(users)[1][:, 1:])
    assert torch.equal(model.encode(users)[0][2], model.users.fields(users)[1])  # 0: nothing dropped
    half = model.encode(torch.arange(1, model.n_users), id_dropout=0.5)[0][2][:, 0]
    assert 0.4 < half.float().mean() < 0.6
    mask = model.encode(users, id_dropout=0.5)[0][2]
    assert torch.equal(mask[0], mask[2])  # one draw per distinct user


@pytest.mark.parametrize('key,value,match', [
    ('fusion', 'concat', "'fusion' to be one of"), ('gate', 'sigmoid', "'gate' to be one of"),
    ('loss_type', 'BCE', "'loss_type' to be one of"), ('id_dropout', 1.5, r"'id_dropout' in \[0, 1\]"),
    ('cl_temperature', 0.0, "'cl_temperature' > 0"),
    ('feature_transforms', {'age': ['log']}, "'feature_transforms' of 'age'")])
def test_config_errors(data, key, value, match):
    with pytest.raises(ValueError, match=match):
        _model(data, **{key: value})


def test_usable_from_a_plain_recbole_script():
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    config = Config(model=ColdStartCL, dataset='ml-100k', config_dict={**SMALL, 'train_neg_sample_args': None,
                                                                        'show_progress': False})
    assert config['fusion'] == 'attention' and 'age' in config['load_col']['user']
    train = data_preparation(config, create_dataset(config))[0]
    model = ColdStartCL(config, train.dataset)
    assert 'occupation' in model.users.names and 'class' in model.items.names
    assert torch.isfinite(model.calculate_loss(next(iter(train))))


def test_item_cache_in_evaluation_follows_the_weights(data):
    model = _model(data).eval()
    users = {'user_id': torch.tensor([1, 2, 3])}
    with torch.no_grad():
        first = model.full_sort_predict(users)
        assert model._cache is not None
        assert torch.equal(model.full_sort_predict(users), first)
        state = {k: v + 0.1 if k.startswith('items.embeddings') else v for k, v in model.state_dict().items()}
        model.load_state_dict(state)
        changed = model.full_sort_predict(users)
        model.train()
        assert model._cache is None
        model.eval()
        assert torch.allclose(model.full_sort_predict(users), changed)
    assert not torch.allclose(changed, first)


def test_gate_regulariser_is_kl_to_uniform_over_the_mask():
    from recsys.models.coldstart_cl import _gate_kl
    w = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True], [False, False, False]])
    # row 1: uniform over its 2 fields -> 0; row 2: one-hot over 3 fields -> log 3; row 3: no field, left out
    assert _gate_kl(w, mask).item() == pytest.approx(math.log(3) / 2, rel=1e-6)


def test_interactions_only_dataset_uses_id_and_context(tmp_path):
    from recsys_testing import write_inter
    write_inter(tmp_path / 'shop', 'shop', users=30, items=40, length=6)
    config = build_config(ColdStartCL, 'shop', {**SMALL, 'user_inter_num_interval': None,
                                                'data_path': str(tmp_path)})  # no .user / .item
    train = load_data(config)[1]
    model = ColdStartCL(config, train.dataset)
    assert model.users.names == ['id', 'activity', 'hour', 'weekday'] and model.items.names == ['id']
    assert torch.isfinite(model.calculate_loss(next(iter(train))))


def _dense_propagation(model, h0):
    """``(H0 + A_hat H0 W_1 + ...) / (L + 1)`` with the dense GCN matrix of the training pairs, by hand."""
    n = model.n_users + model.n_items
    users, items = model.graph_edges[:, :model.graph_edges.size(1) // 2]
    adj = torch.zeros(n, n)
    adj[users, items] = adj[items, users] = 1.0
    adj += torch.eye(n)
    d = adj.sum(1).rsqrt()
    a_hat = d[:, None] * adj * d[None, :]
    layers = [h0]
    for conv in model.convs:
        layers.append(a_hat @ layers[-1] @ conv.lin.weight.t())
    return sum(layers) / len(layers)


def test_graph_layers_propagate_over_the_training_interactions_like_dense_gcn(data):
    model = _model(data, graph_layers=2).eval()
    dataset = data[1].dataset
    pairs = set(zip(dataset.inter_feat['user_id'].tolist(), dataset.inter_feat['item_id'].tolist()))
    users, items = model.graph_edges[:, :model.graph_edges.size(1) // 2]
    assert {(u, i - model.n_users) for u, i in zip(users.tolist(), items.tolist())} == pairs  # training pairs
    assert torch.equal(model.graph_edges[:, model.graph_edges.size(1) // 2:], model.graph_edges[:, :len(pairs)].flip(0))
    for conv in model.convs:  # identity at the start (LightGCN's propagation); perturbed to test W_l
        assert torch.equal(conv.lin.weight, torch.eye(model.embedding_size))
        with torch.no_grad():
            conv.lin.weight.add_(0.1 * torch.randn_like(conv.lin.weight))
    with torch.no_grad():
        h0 = torch.cat([model.users(torch.arange(model.n_users))[0], model.items(torch.arange(model.n_items))[0]])
        expected = _dense_propagation(model, h0)
        batch = torch.tensor([3, 1, 3])
        (u, _, _), (i, _, _) = model.encode(batch)
        assert torch.allclose(u, expected[batch], atol=1e-5)
        assert torch.allclose(i, expected[model.n_users:], atol=1e-5)
        scores = model.full_sort_predict({'user_id': batch}).view(3, -1)
        pair = model.predict({'user_id': batch, 'item_id': torch.tensor([5, 7, 9])})
        assert torch.allclose(pair, scores[[0, 1, 2], [5, 7, 9]], atol=1e-5)
    model.train()
    model.calculate_loss({'user_id': torch.tensor([1, 2, 3]), 'item_id': torch.tensor([4, 9, 9])}).backward()
    assert all(conv.lin.weight.grad.abs().sum() > 0 for conv in model.convs)


def test_graph_leaves_a_user_without_training_interactions_on_its_side_information():
    from recbole.data import create_dataset

    from recsys.coldstart import cold_start_data
    config = build_config(ColdStartCL, 'ml-100k', {**SMALL, 'graph_layers': 2})
    split = cold_start_data(config, create_dataset(config), 0, 0.2, seed=1)
    model = ColdStartCL(config, split.train.dataset).eval()
    cold = torch.nonzero(torch.from_numpy(split.cold)).flatten()
    assert len(cold) > 0 and not torch.isin(model.graph_edges, cold).any()  # k = 0: no edge of a cold user
    with torch.no_grad():
        assert torch.allclose(model.encode(cold)[0][0], model.users(cold)[0], atol=1e-6)  # only its self-loop
    with pytest.raises(ValueError, match="'graph_layers' >= 0"):
        ColdStartCL(build_config(ColdStartCL, 'ml-100k', {**SMALL, 'graph_layers': -1}), split.train.dataset)
