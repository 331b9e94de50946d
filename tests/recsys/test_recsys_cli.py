import json

import pytest
import yaml

from recsys.cli import main

from recsys_testing import TINY, write_inter


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / 'tiny.yaml'
    path.write_text(yaml.safe_dump({k: v for k, v in TINY.items() if k not in ('epochs', 'device')}))
    return path


def test_list(capsys):
    assert main(['list']) == 0
    out = capsys.readouterr().out
    for name in ('SASRec ', 'SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec', 'MCLRecTrainer', 'ml-100k', 'Yelp',
                 '--data-path DIR (DIR/NAME/NAME.inter)'):
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


OWN = {'MAX_ITEM_LIST_LENGTH': 5, 'n_layers': 1, 'n_heads': 1, 'hidden_size': 8, 'inner_size': 8,
       'eval_batch_size': 64}


@pytest.fixture
def own_yaml(tmp_path):
    path = tmp_path / 'own.yaml'
    path.write_text(yaml.safe_dump(OWN))
    return path


def test_train_on_own_atomic_files(tmp_path, own_yaml, capsys):
    data = tmp_path / 'data'
    write_inter(data / 'shop', 'shop', users=25)
    out = tmp_path / 'run'
    assert main(['train', 'SASRecBackbone', '--dataset', 'shop', '--data-path', str(data), '--config', str(own_yaml),
                 '--epochs', '1', '--device', 'cpu', '--out', str(out), '--export-topk', '3', '--quiet']) == 0
    assert 'SASRecBackbone on shop: 1 epochs' in capsys.readouterr().out
    assert yaml.safe_load((out / 'config.yaml').read_text())['data_path'] == str(data / 'shop')
    assert json.loads((out / 'args.json').read_text())['config_dict']['data_path'] == str(data)  # kept for --resume
    users = [line.split('\t')[0] for line in (out / 'topk.tsv').read_text().splitlines()[1:]]
    assert sorted(users) == sorted(f'u{k}' for k in range(1, 26))


def test_ml100k_data_path_in_config_is_used(tmp_path, own_yaml, capsys):
    # before: the shipped ml-100k (943 users) silently replaced the user's files
    write_inter(tmp_path / 'mine' / 'ml-100k', 'ml-100k', users=20)
    with open(own_yaml, 'a') as f:
        f.write(f'data_path: {tmp_path / "mine"}\n')
    out = tmp_path / 'run'
    assert main(['train', 'SASRecBackbone', '--dataset', 'ml-100k', '--config', str(own_yaml), '--epochs', '1',
                 '--device', 'cpu', '--out', str(out), '--export-topk', '2', '--quiet']) == 0
    assert yaml.safe_load((out / 'config.yaml').read_text())['data_path'] == str(tmp_path / 'mine' / 'ml-100k')
    assert len((out / 'topk.tsv').read_text().splitlines()) == 1 + 20


def _bad_yaml(tmp_path, text):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('extra,message', [
    (lambda p: ['--data-path', str(p / 'nowhere')], "--data-path folder not found: '"),
    (lambda p: ['--data-path', str(p)], "'ml-100k.inter' not found in '"),
    (lambda p: ['--config', _bad_yaml(p, 'train_stride: 0\n')], "'train_stride' to be an integer in [1, "),
    (lambda p: ['--config', _bad_yaml(p, 'train_stride: abc\n')], "(got 'abc')"),
    (lambda p: ['--config', _bad_yaml(p, 'train_stride: 1.5\n')], "'train_stride' to be an integer in [1, "),
    (lambda p: ['--epochs', '-1'], "Expected 'epochs' to be an integer >= 0 (got -1)"),
    (lambda p: ['--config', _bad_yaml(p, 'epochs: [3\n')], "is not valid YAML: "),
    (lambda p: ['--config', _bad_yaml(p, 'epochs: 3\n  seed: 1\n')], "is not valid YAML: "),
    (lambda p: ['--threads', '0'], "Expected '--threads' >= 1 (got 0)"),
    (lambda p: ['--config', _bad_yaml(p, 'train_stride: 5\n'), 'SASRec'], "'train_stride' > 1 needs a recsys model"),
], ids=['no-data-folder', 'no-inter-file', 'stride-0', 'stride-abc', 'stride-1.5', 'epochs-negative', 'yaml-flow',
        'yaml-indent', 'threads-0', 'recbole-sasrec-stride'])
def test_bad_values_exit_2_in_one_line_and_write_nothing(extra, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = extra(tmp_path)
    model = args.pop() if args[-1] == 'SASRec' else 'SASRecBackbone'
    out = tmp_path / 'run'
    assert main(['train', model, '--dataset', 'ml-100k', '--device', 'cpu', '--out', str(out)] + args) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('recsys: error: ') and message in err, err
    assert not out.exists() and not (tmp_path / 'runs').exists()


def test_malformed_seqrec_lines_warned_or_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / 'root' / 'seqrec').mkdir(parents=True)
    source = tmp_path / 'root' / 'seqrec' / 'Beauty.txt'
    source.write_text(''.join(f'{u} {u + 10} x{u}\n' if u in (3, 4) else f'{u} {u + 10} {u + 11}\n'
                              for u in range(1, 101)))
    monkeypatch.setenv('GRAPHCL_DATA', str(tmp_path / 'root'))
    monkeypatch.setenv('RECSYS_CACHE', str(tmp_path / 'cache'))
    assert main(['train', 'SASRecBackbone', '--dataset', 'Beauty', '--out', str(tmp_path / 'run')]) == 2
    err = capsys.readouterr().err
    assert err == (f"recsys: error: {source}: 2 of 100 lines malformed (2.00%), more than the 1.00% allowed "
                   f"(seqrec_max_malformed): line 3: 'x3' is not a non-negative integer; line 4: 'x4' is not a "
                   f"non-negative integer\n")
    lenient = _bad_yaml(tmp_path, 'seqrec_max_malformed: 0.05\nepochs: -2\n')  # a warning, then the epochs error
    assert main(['train', 'SASRecBackbone', '--dataset', 'Beauty', '--config', lenient]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f'recsys: warning: {source}: 2 of 100 lines malformed (2.00%), skipped: line 3:')
    assert err[1] == "recsys: error: Expected 'epochs' to be an integer >= 0 (got -2)" and len(err) == 2


def test_threads_and_progress_bar(tmp_path, tiny_yaml, monkeypatch, capsys):
    import sys

    import torch
    threads = []
    monkeypatch.setattr(torch, 'set_num_threads', threads.append)  # nothing process-wide in the test session
    monkeypatch.setattr(sys.stderr, 'isatty', lambda: True, raising=False)
    out = tmp_path / 'run'
    argv = ['train', 'SASRecBackbone', '--dataset', 'ml-100k', '--config', str(tiny_yaml), '--epochs', '1',
            '--device', 'cpu', '--out', str(out), '--threads', '3']
    assert main(argv) == 0
    assert threads == [3]
    assert 'Train     0' in capsys.readouterr().err  # RecBole's bar inside the epoch, on at a terminal
    assert yaml.safe_load((out / 'config.yaml').read_text())['show_progress'] is True
    assert 'show_progress' not in json.loads((out / 'args.json').read_text())['config_dict']
    assert main(['train', '--resume', str(out), '--epochs', '2', '--quiet']) == 0
    assert 'Train' not in capsys.readouterr().err
    assert yaml.safe_load((out / 'config.yaml').read_text())['show_progress'] is False
