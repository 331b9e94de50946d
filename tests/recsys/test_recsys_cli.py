import json

import pytest
import yaml

from recsys.cli import main

from recsys_testing import TINY


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / 'tiny.yaml'
    path.write_text(yaml.safe_dump({k: v for k, v in TINY.items() if k not in ('epochs', 'device')}))
    return path


def test_list(capsys):
    assert main(['list']) == 0
    out = capsys.readouterr().out
    for name in ('SASRec ', 'SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec', 'MCLRecTrainer', 'ml-100k', 'Yelp'):
        assert name in out


@pytest.mark.parametrize('argv,message', [
    (['train', 'GRU4Rec', '--dataset', 'ml-100k'], "Unknown model 'GRU4Rec'. Valid models: SASRec, SASRecBackbone"),
    (['train', 'MCLRec', '--dataset', 'Books'], "Unknown dataset 'Books'. Valid datasets: ml-100k, Beauty"),
    (['train', 'MCLRec'], 'missing --dataset'),
    (['train', '--dataset', 'ml-100k'], 'missing MODEL'),
    (['train', 'MCLRec', '--dataset', 'ml-100k', '--config', 'nope.yaml'], 'config file not found'),
    (['train', 'MCLRec', '--dataset', 'ml-100k', '--export-topk', '0'], "'--export-topk' >= 1"),
    (['train', '--resume', '/nonexistent/run'], 'needs a previous run folder'),
])
def test_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_train_writes_outputs_and_resumes(tmp_path, tiny_yaml, capsys, monkeypatch):
    flushes = []
    monkeypatch.setattr('graphcl.train.flush_denormals_process_wide', lambda: flushes.append(True))
    out = tmp_path / 'run'
    argv = ['train', 'SASRecBackbone', '--dataset', 'ml-100k', '--config', str(tiny_yaml), '--epochs', '1',
            '--seed', '7', '--device', 'cpu', '--out', str(out), '--export-topk', '4']
    assert main(argv) == 0
    assert flushes == [True]  # subnormals flushed process-wide before training, as `graphcl train` does
    assert 'test hit@10' in capsys.readouterr().out
    for name in ('metrics.json', 'config.yaml', 'model.pth', 'last.pth', 'args.json', 'log.txt', 'topk.tsv'):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith('.')]  # no temporary files left
    metrics = json.loads((out / 'metrics.json').read_text())
    assert set(metrics['test']) >= {'hit@5', 'ndcg@10', 'mrr@20', 'recall@20'} and metrics['epochs_run'] == 1
    assert metrics['command'].startswith('recsys train SASRecBackbone')
    config = yaml.safe_load((out / 'config.yaml').read_text())
    assert config['seed'] == 7 and config['device'] == 'cpu' and config['model'] == 'SASRecBackbone'
    assert main(['train', '--resume', str(out), '--epochs', '2', '--quiet']) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['epochs_run'] == 2 and metrics['model'] == 'SASRecBackbone'
    assert [h['epoch'] for h in metrics['history']] == [0, 1]
    # resuming into another folder leaves the first run untouched
    other = tmp_path / 'other'
    assert main(['train', '--resume', str(out), '--epochs', '3', '--quiet', '--out', str(other)]) == 0
    assert json.loads((other / 'metrics.json').read_text())['epochs_run'] == 3
    assert json.loads((out / 'metrics.json').read_text())['epochs_run'] == 2 and (other / 'model.pth').is_file()
