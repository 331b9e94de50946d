import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

import recsys
from recsys import compat


def test_alias_numpy_adds_only_missing_names():
    stub = types.ModuleType('fake_numpy')
    stub.float64, stub.complex128, stub.str_, stub.bytes_ = np.float64, np.complex128, np.str_, np.bytes_
    stub.nan, stub.inf = np.nan, np.inf
    stub.unicode_ = 'keep me'
    added = compat.alias_numpy(stub)
    assert sorted(added) == ['Inf', 'NaN', 'complex_', 'float_', 'string_']
    assert stub.float_ is np.float64 and stub.complex_ is np.complex128 and stub.string_ is np.bytes_
    assert stub.unicode_ == 'keep me'
    assert compat.alias_numpy(stub) == []  # idempotent


def test_numpy_aliases_present_after_import():
    assert compat.is_applied()
    assert np.float_ is np.float64 and np.complex_ is np.complex128 and np.unicode_ is np.str_


def test_quick_start_and_ray_are_never_imported(tiny):
    recsys.run('SASRecBackbone', 'ml-100k', tiny)
    assert 'recbole.quick_start' not in sys.modules
    assert 'ray' not in sys.modules


def test_missing_recbole_gives_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'recbole' else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install recbole==1\.2\.1'):
        compat.require_recbole()


def test_ml100k_ships_in_the_wheel():
    folder = compat.recbole_dataset_example_dir()
    with open(f'{folder}/ml-100k/ml-100k.inter') as f:
        assert f.readline().split('\t')[0] == 'user_id:token'


def test_config_dataset_preparation(tiny_data):
    config, dataset, train, valid, test = tiny_data
    assert config['model'] == 'SASRecBackbone' and str(config['device']) == 'cpu'
    n_users = dataset.user_num - 1  # id 0 is padding
    assert n_users == 79 and dataset.item_num == 395  # item_num counts the padding id
    # prefix augmentation: one sample per (prefix -> next item); leave-one-out keeps the last two per user
    assert len(valid.dataset) == len(test.dataset) == n_users
    assert len(train.dataset) == dataset.inter_num - 2 * n_users
    lengths = train.dataset.inter_feat['item_length']
    assert int(lengths.min()) == 1 and int(lengths.max()) == 10


@pytest.mark.filterwarnings('ignore:Detected pickle protocol')
def test_stock_trainer_fit_evaluate_best_and_resume(tiny, tmp_path, monkeypatch):
    """RecBole's own SASRec and Trainer: fit one epoch, evaluate(load_best_model=True), resume_checkpoint."""
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed
    from recsys.config import build_config
    from recsys.pipeline import load_data

    monkeypatch.chdir(tmp_path)  # anything RecBole writes in the working directory lands here
    tiny['checkpoint_dir'] = str(tmp_path / 'ckpt')
    config = build_config(SASRec, 'ml-100k', tiny)
    _, train, valid, test = load_data(config)
    init_seed(config['seed'], True)
    trainer = Trainer(config, SASRec(config, train.dataset))
    best, best_result = trainer.fit(train, valid, saved=True)
    assert set(best_result) >= {'hit@5', 'ndcg@10', 'mrr@20', 'recall@20'}
    result = trainer.evaluate(test, load_best_model=True)
    assert 0.0 <= result['ndcg@10'] <= result['hit@10'] <= 1.0
    # the checkpoint pickles RecBole's Config: plain torch.load (weights_only default on torch >= 2.6) refuses it
    if tuple(int(x) for x in torch.__version__.split('.')[:2]) >= (2, 6):
        with pytest.raises(Exception):
            torch.load(trainer.saved_model_file)
    resumed = Trainer(config, SASRec(config, train.dataset))
    resumed.resume_checkpoint(trainer.saved_model_file)
    assert resumed.start_epoch == 1
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
    # no TensorBoard folder unless asked for
    assert not (tmp_path / 'log_tensorboard').exists()


def test_tensorboard_dir_is_opt_in(tiny_data, tmp_path):
    from recbole.trainer import Trainer
    config = tiny_data[0]
    compat.set_tensorboard_dir(str(tmp_path / 'tb'))
    try:
        Trainer(config, recsys.SASRecBackbone(config, tiny_data[2].dataset)).tensorboard.flush()
    finally:
        compat.set_tensorboard_dir(None)
    assert (tmp_path / 'tb').is_dir()


def test_fill_nan_replacement(tmp_path):
    """A missing float takes the column mean (the pandas-3-safe replacement of Dataset._fill_nan)."""
    from recbole.data.dataset import Dataset
    from recsys.config import RecsysConfig
    folder = tmp_path / 'toy'
    folder.mkdir()
    rows = ['user_id:token\titem_id:token\tscore:float\ttimestamp:float']
    rows += [f'u{u}\ti{(u + t) % 4}\t{"" if (u, t) == (0, 1) else float(t)}\t{t}' for u in range(3) for t in range(4)]
    (folder / 'toy.inter').write_text('\n'.join(rows) + '\n')
    config = RecsysConfig(model=recsys.SASRecBackbone, dataset='toy',
                          config_dict={'data_path': str(tmp_path), 'load_col': None, 'device': 'cpu',
                                       'n_layers': 1, 'n_heads': 1, 'hidden_size': 4, 'inner_size': 4,
                                       'hidden_dropout_prob': 0.0, 'attn_dropout_prob': 0.0})
    score = Dataset(config).inter_feat['score'].to_numpy()
    assert score.shape == (12,) and not np.isnan(score).any()
    others = np.delete(score, 1)  # row 1 is (u0, t=1), the missing one
    assert np.isclose(score[1], others.mean())


def test_recbole_does_not_leave_anomaly_detection_on():
    """recbole.model.sequential_recommender.sine enables it at import; compat restores the previous setting."""
    import recbole.model.sequential_recommender.sine  # noqa: F401
    assert not torch.is_anomaly_enabled()


@pytest.fixture
def recbole_env(monkeypatch):
    """RecBole's own Config reads ``sys.argv`` and sets ``CUDA_VISIBLE_DEVICES``: keep both for this test."""
    import os
    monkeypatch.setattr(sys, 'argv', ['recbole'])
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', os.environ.get('CUDA_VISIBLE_DEVICES', ''))  # restored afterwards


@pytest.mark.parametrize('name', ['SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec'])
def test_recbole_config_gets_our_model_defaults(name, recbole_env, tmp_path):
    """``Config(model=MCLRec, dataset=..., config_dict=...)`` as RecBole documents custom models, without our YAML
    files: it gave None for n_layers (a TypeError in the model); now the model's YAML defaults apply."""
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed
    model_cls = recsys.get_model(name)
    config = Config(model=model_cls, dataset='ml-100k', config_dict={
        'user_inter_num_interval': '[20,22]', 'MAX_ITEM_LIST_LENGTH': 10, 'inner_size': 32, 'epochs': 1,
        'show_progress': False, 'checkpoint_dir': str(tmp_path), 'n_intents': 8, 'kmeans_nredo': 1})
    assert config['n_layers'] == 2 and config['hidden_size'] == 64 and config['inner_size'] == 32  # user's wins
    assert config['train_neg_sample_args']['distribution'] == 'none'  # RecBole's default would sample negatives
    if name == 'MCLRec':
        assert config['beta'] == 0.01 and config['augmenter_sizes'] == [64, 32, 16, 64]
    if name == 'ICSRec':
        assert config['valid_metric'] == 'NDCG@20' and config['stopping_step'] == 40  # its YAML over RecBole's
    init_seed(config['seed'], config['reproducibility'])
    train, valid, _ = data_preparation(config, create_dataset(config))
    model = model_cls(config, train.dataset)
    trainer = recsys.trainer_for(model)(config, model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.fit(train, valid, saved=False, show_progress=False)
    assert list(trainer.train_loss_dict) == [0] and np.isfinite(np.sum(trainer.train_loss_dict[0]))
    assert not torch.equal(before['item_embedding.weight'], model.state_dict()['item_embedding.weight'])


def test_recbole_model_defaults_leave_recbole_models_alone(recbole_env):
    from recbole.config import Config
    from recbole.model.sequential_recommender import SASRec
    config = Config(model=SASRec, dataset='ml-100k', config_dict={'train_neg_sample_args': None})
    assert config['train_stride'] is None and config['hidden_dropout_prob'] == 0.5 and config['n_layers'] == 2


def test_cross_entropy_models_refuse_negative_sampling(recbole_env):
    """RecBole's point-wise sampling adds rows whose item is a random negative: a CE model took them as
    targets."""
    from recbole.config import Config
    sampling = {'distribution': 'uniform', 'sample_num': 1, 'alpha': 1.0, 'dynamic': False, 'candidate_num': 0}
    config = Config(model=recsys.MCLRec, dataset='ml-100k', config_dict={'train_neg_sample_args': sampling})
    with pytest.raises(ValueError, match=r"MCLRec trains with cross-entropy over all items: expected "
                                         r"'train_neg_sample_args' to be None \(got \{'distribution': 'uniform'"):
        recsys.MCLRec(config, None)
