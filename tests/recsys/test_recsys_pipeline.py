import pytest
import torch
from recbole.model.sequential_recommender import SASRec

import recsys
from recsys.trainers import ICSRecTrainer, MCLRecTrainer, RecTrainer

METRICS = {f'{m}@{k}' for m in ('hit', 'ndcg', 'mrr', 'recall') for k in (5, 10, 20)}


@pytest.mark.parametrize('name', ['SASRec', 'SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec'])
def test_one_epoch_smoke_run(name, tiny):
    result = recsys.run(name, 'ml-100k', tiny)
    assert result['model'] == name and result['epochs_run'] == 1 and len(result['history']) == 1
    for split in ('valid', 'test'):
        assert set(result[split]) == METRICS
        assert all(0.0 <= v <= 1.0 for v in result[split].values())
        assert result[split]['ndcg@10'] <= result[split]['hit@10'] <= result[split]['hit@20']
    assert result['checkpoint'] is None  # temporary folder, removed
    assert result['config']['model'] == name and result['config']['MAX_ITEM_LIST_LENGTH'] == 10


def test_trainer_for():
    assert recsys.trainer_for(recsys.MCLRec) is MCLRecTrainer
    assert recsys.trainer_for(recsys.ICSRec) is ICSRecTrainer
    assert recsys.trainer_for(recsys.CL4SRec) is RecTrainer and recsys.trainer_for(SASRec) is RecTrainer
    with pytest.raises(ValueError, match="Unknown model 'GRU'. Valid models: SASRec, SASRecBackbone, CL4SRec"):
        recsys.get_model('GRU')
    assert recsys.get_model('mclrec') is recsys.MCLRec


def test_train_stride_trains_on_fewer_samples(tiny):
    full = recsys.run('SASRecBackbone', 'ml-100k', dict(tiny, epochs=0))
    windows = recsys.run('SASRecBackbone', 'ml-100k', dict(tiny, epochs=1, train_stride=10))
    assert windows['n_train_samples'] * 4 < full['n_train_samples'] == 1413
    assert set(windows['test']) == METRICS


def test_resume_and_export(tiny, tmp_path):
    first = recsys.run('CL4SRec', 'ml-100k', tiny, out_dir=tmp_path)
    assert first['checkpoint'] == str(tmp_path / 'model.pth') and (tmp_path / 'last.pth').is_file()
    second = recsys.run('CL4SRec', 'ml-100k', dict(tiny, epochs=2), out_dir=tmp_path, resume=tmp_path / 'last.pth',
                        export_topk_k=3)
    assert second['epochs_run'] == 2 and [h['epoch'] for h in second['history']] == [1]
    lines = (tmp_path / 'topk.tsv').read_text().splitlines()
    assert lines[0] == 'user_id\ttop3_item_id' and len(lines) == 1 + 79
    user, items = lines[1].split('\t')
    assert len(items.split()) == 3 and '[PAD]' not in items


def test_subnormals_flushed_while_training_then_restored(tiny):
    from graphcl.train.loop import _denormals_flushed
    torch.set_flush_denormal(False)  # in-process CLI tests may have switched flushing on for the whole process
    seen = []
    recsys.run('SASRecBackbone', 'ml-100k', tiny, epoch_callback=lambda record: seen.append(_denormals_flushed()))
    assert seen == [True]
    assert not _denormals_flushed()
