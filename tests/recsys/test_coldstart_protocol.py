import json

import numpy as np
import pytest
import torch
from recbole.data import create_dataset

from recsys.cli import main
from recsys.coldstart import (ROLES, choose_cold_users, cold_start_data, resolve_model, run_cold_start,
                              split_roles)
from recsys.config import build_config
from recsys.models.coldstart_cl import ColdStartCL

SMALL = {'user_inter_num_interval': '[20,22]', 'embedding_size': 8, 'n_heads': 2, 'epochs': 1, 'device': 'cpu',
         'train_batch_size': 256, 'eval_batch_size': 4096}


@pytest.fixture(scope='module')
def ml():
    config = build_config(ColdStartCL, 'ml-100k', dict(SMALL))
    return config, create_dataset(config)


def _pairs(loader):
    inter = loader.dataset.inter_feat
    return set(zip(inter['user_id'].tolist(), inter['item_id'].tolist()))


def test_split_roles_by_hand():
    # user 1 warm (4 items, shuffled rows), user 2 cold with k = 2, user 3 warm with 2 items (all training)
    uid = np.array([1, 2, 1, 2, 1, 2, 1, 3, 3, 2])
    stamp = np.array([4.0, 1, 2, 2, 1, 3, 3, 1, 2, 4])
    cold = np.array([False, False, True, False])
    assert split_roles(uid, stamp, cold, 2).tolist() == [2, 0, 0, 0, 0, 3, 1, 0, 0, 3]
    assert split_roles(uid, stamp, cold, 0)[uid == 2].tolist() == [3, 3, 3, 3]
    with pytest.raises(ValueError, match=r"'k' >= 0 \(got -1\)"):
        split_roles(uid, stamp, cold, -1)


def test_choose_cold_users_is_seeded():
    users = np.arange(1, 101)
    a, b = choose_cold_users(users, 101, 0.2, 7), choose_cold_users(users, 101, 0.2, 7)
    assert np.array_equal(a, b) and a.sum() == 20 and not a[0]
    assert not np.array_equal(a, choose_cold_users(users, 101, 0.2, 8))
    with pytest.raises(ValueError, match=r"'cold_fraction' in \[0, 1\] \(got 1.2\)"):
        choose_cold_users(users, 101, 1.2, 0)


@pytest.mark.parametrize('k', [0, 1, 3])
def test_cold_split_on_ml100k(ml, k):
    config, dataset = ml
    split = cold_start_data(config, dataset, k, 0.2, seed=3)
    cold = split.cold
    train = split.train.dataset.inter_feat
    train_uid = train['user_id'].numpy()
    counts = np.bincount(train_uid, minlength=dataset.user_num)
    assert np.all(counts[cold] == k)  # every user has >= 20 interactions
    assert np.all(counts[~cold][1:] == np.bincount(dataset.inter_feat['user_id'].numpy(),
                                                   minlength=dataset.user_num)[~cold][1:] - 2)
    cold_test = split.test_cold.dataset.inter_feat
    assert cold[cold_test['user_id'].numpy()].all()
    assert not (_pairs(split.train) & _pairs(split.test_cold))  # no held-out cold item reaches training
    assert not cold[split.valid.dataset.inter_feat['user_id'].numpy()].any()
    assert not cold[split.test_warm.dataset.inter_feat['user_id'].numpy()].any()
    # a cold user's training items are its first k, every held-out one is later
    stamps = dataset.inter_feat['timestamp'].numpy()
    assert len(train) + len(split.valid.dataset) + len(split.test_warm.dataset) + len(cold_test) == len(stamps)
    for user in np.flatnonzero(cold)[:5]:
        kept = train['timestamp'][torch.from_numpy(train_uid == user)]
        rest = cold_test['timestamp'][cold_test['user_id'] == int(user)]
        assert len(rest) > 0 and (len(kept) == 0 or kept.max() <= rest.min())
    # deterministic per seed
    again = cold_start_data(config, dataset, k, 0.2, seed=3)
    assert np.array_equal(again.cold, cold) and _pairs(again.train) == _pairs(split.train)


def test_roles_cover_the_dataset(ml):
    dataset = ml[1]
    uid = dataset.inter_feat['user_id'].numpy()
    roles = split_roles(uid, dataset.inter_feat['timestamp'].numpy(),
                        choose_cold_users(uid, dataset.user_num, 0.2, 0), 1)
    assert set(np.unique(roles)) == set(ROLES.values())


def test_one_epoch_protocol_run_writes_metrics(tmp_path):
    result = run_cold_start('ColdStartCL', ks=(0, 1), seed=1, config_dict=dict(SMALL), out_dir=tmp_path)
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['ks'] == [0, 1] and set(saved['cold']) == {'0', '1'}
    for key in ('hit@10', 'ndcg@10', 'mrr@10', 'recall@10', 'hit@20', 'ndcg@20', 'mrr@20', 'recall@20'):
        assert 0.0 <= saved['cold']['1'][key] <= 1.0 and key in saved['warm_mean']
    assert result['n_cold_users'] == 16
    assert set(saved['field_importance']['1']['user']) >= {'age', 'gender', 'occupation', 'zip_code', 'hour'}


@pytest.mark.parametrize('name', ['BPR', 'NeuMF', 'DeepFM'])
def test_baselines_resolve_and_run_under_the_protocol(name):
    assert resolve_model('bpr').__name__ == 'BPR' and resolve_model('coldstartcl') is ColdStartCL
    with pytest.raises(ValueError, match=r"'ks' to hold at least one k >= 0 \(got \[1, -1\]\)"):
        run_cold_start('BPR', ks=(1, -1))
    with pytest.raises(ValueError, match="Unknown model 'Nope'"):
        resolve_model('Nope')
    result = run_cold_start(name, ks=(1,), seed=1, config_dict=dict(SMALL, mlp_hidden_size=[8]))
    assert result['field_importance'] == {} and 0.0 <= result['cold'][1]['ndcg@10'] <= 1.0


def test_recsys_train_coldstartcl_writes_field_importance(tmp_path, capsys):
    config = tmp_path / 'small.yaml'
    config.write_text(''.join(f'{k}: {v!r}\n' if isinstance(v, str) else f'{k}: {v}\n' for k, v in SMALL.items()))
    out = tmp_path / 'run'
    assert main(['train', 'ColdStartCL', '--dataset', 'ml-100k', '--config', str(config), '--out', str(out),
                 '--quiet']) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert set(metrics['field_importance']['user']) >= {'age', 'occupation', 'weekday'}
    assert sum(metrics['field_importance']['item'].values()) == pytest.approx(1.0, rel=1e-5)
