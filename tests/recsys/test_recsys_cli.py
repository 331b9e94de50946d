import json
import os
import time

import pytest
import torch
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
    (['train', '--resume', '/nonexistent/run'], 'args.json is missing (is /nonexistent/run a recsys run folder?)'),
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


@pytest.fixture
def shop(tmp_path, own_yaml, monkeypatch):
    """``recsys train`` arguments for a quick run on a user's tiny data set (``tmp_path/data/shop``); the working
    directory is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    write_inter(tmp_path / 'data' / 'shop', 'shop', users=25)
    return ['train', 'SASRecBackbone', '--dataset', 'shop', '--data-path', str(tmp_path / 'data'), '--config',
            str(own_yaml), '--device', 'cpu', '--quiet']


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_out_in_use_is_refused_and_overwrite_replaces_its_outputs(shop, tmp_path, capsys):
    out = tmp_path / 'run'
    out.mkdir()
    for name, text in (('notes.txt', 'mine'), ('topk.tsv', 'old'), ('model.pth', 'old')):
        (out / name).write_text(text)
    before = _files(out)
    assert main(shop + ['--epochs', '1', '--out', str(out)]) == 2
    assert capsys.readouterr().err == (f'recsys: error: Output folder {out} exists and is not empty: choose another '
                                       f'--out, --resume it, or pass --overwrite to replace its outputs\n')
    assert _files(out) == before
    assert main(shop + ['--epochs', '1', '--out', str(out), '--overwrite']) == 0
    assert not (out / 'topk.tsv').exists()  # the replaced run's files are gone, the user's own file stays
    assert (out / 'notes.txt').read_text() == 'mine' and (out / 'model.pth').read_bytes() != b'old'


def test_default_folders_are_unique(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(time, 'strftime', lambda *args: '20260101-000000')  # two runs started in the same second
    assert main(shop + ['--epochs', '1']) == 0
    assert main(shop + ['--epochs', '1', '--seed', '3']) == 0
    runs = sorted((tmp_path / 'runs').iterdir())
    assert len(runs) == 2 and all(p.name.startswith('SASRecBackbone-shop-20260101-000000-') for p in runs)
    assert sorted(yaml.safe_load((p / 'config.yaml').read_text())['seed'] for p in runs) == [3, 2020]


class _SlowClock:
    """``time`` as ``recsys.pipeline`` sees it: every reading after the first is 1000 s later."""

    def __init__(self):
        self.readings = 0

    def perf_counter(self):
        self.readings += 1
        return time.perf_counter() + (1000.0 if self.readings > 1 else 0.0)


def test_resume_of_an_interrupted_run_keeps_its_arguments_history_and_seconds(shop, tmp_path, own_yaml, monkeypatch,
                                                                              capsys):
    import recsys.pipeline as pipeline
    real_run = pipeline.run

    def interrupted_after_one_epoch(*args, epoch_callback, **kwargs):
        def callback(record):
            epoch_callback(record)
            raise KeyboardInterrupt
        return real_run(*args, epoch_callback=callback, **kwargs)

    out = tmp_path / 'run'
    monkeypatch.setattr(pipeline, 'run', interrupted_after_one_epoch)
    monkeypatch.setattr(pipeline, 'time', _SlowClock())  # the interrupted segment takes 1000 s
    with pytest.raises(KeyboardInterrupt):
        main(shop + ['--epochs', '2', '--out', str(out)])
    assert (out / 'last.pth').is_file() and not (out / 'metrics.json').exists()
    monkeypatch.setattr(pipeline, 'run', real_run)
    monkeypatch.setattr(pipeline, 'time', time)
    monkeypatch.chdir(tmp_path / 'data')  # the saved paths are absolute
    assert main(['train', '--resume', str(out), '--quiet']) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['epochs_run'] == 2 and [h['epoch'] for h in metrics['history']] == [0, 1]
    assert 1000 < metrics['history'][0]['elapsed_s'] < metrics['history'][1]['elapsed_s'] <= metrics['train_time_s']
    assert f"2 epochs, {metrics['train_time_s']:.1f} s" in capsys.readouterr().out
    config = yaml.safe_load((out / 'config.yaml').read_text())
    assert config['data_path'] == str(tmp_path / 'data' / 'shop') and config['hidden_size'] == OWN['hidden_size']


def test_resume_with_as_many_epochs_keeps_the_best_checkpoint(shop, tmp_path):
    out = tmp_path / 'run'
    assert main(shop + ['--epochs', '2', '--out', str(out)]) == 0
    best = (out / 'model.pth').read_bytes()
    assert main(['train', '--resume', str(out), '--epochs', '2', '--quiet']) == 0
    assert (out / 'model.pth').read_bytes() == best  # RecBole's fit() saved the last weights as the best (epoch -1)
    assert json.loads((out / 'metrics.json').read_text())['epochs_run'] == 2


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _as_other_model(path):
    checkpoint = torch.load(path, weights_only=False)
    checkpoint['config'] = {'model': 'CL4SRec', 'dataset': 'shop'}
    torch.save(checkpoint, path)


@pytest.mark.parametrize('tamper,extra,message', [
    (None, ['--epochs', '1'], 'Cannot resume: {out} has trained 2 epochs already; --epochs 1 would relabel it: give '
                              'at least 2'),
    (None, ['CL4SRec'], '{out} is a SASRecBackbone run: cannot resume it as CL4SRec'),
    (None, ['--dataset', 'ml-100k'], '{out} was trained on shop: cannot resume it on ml-100k'),
    (None, ['--data-path', '.'], '{out} was trained on data under {data}: cannot resume it with --data-path .'),
    (None, ['--config', '{yaml}'], 'When resuming, the config files saved in {out} are used: --config cannot be given'),
    (None, ['--seed', '99'], '{out} was trained with seed 2020: cannot resume it with --seed 99'),
    (lambda out, p: p['yaml'].write_text('hidden_size: 16\n'), [],
     'Cannot resume: config file {yaml} changed since {out} was trained (sha256 '),
    (lambda out, p: p['inter'].write_text(p['inter'].read_text() + 'u1\ti9\t99999\n'), [],
     'Cannot resume: {inter} is not the data {out} was trained on ({inter}; sha256 '),
    (lambda out, p: (out / 'last.pth').unlink(), [],
     'Cannot resume: {out}/last.pth is missing (the run stopped before its first validated epoch): start it again '
     'with --out {out} --overwrite'),
    (lambda out, p: _truncate(out / 'last.pth'), [], 'Cannot resume: {out}/last.pth is not a readable checkpoint ('),
    (lambda out, p: torch.save({'weights': 1}, out / 'last.pth'), [],
     'Cannot resume: {out}/last.pth is not a RecBole checkpoint (no config, epoch, cur_step, best_valid_score, '
     'state_dict, optimizer)'),
    (lambda out, p: _as_other_model(out / 'last.pth'), [],
     'Cannot resume: {out}/last.pth is a checkpoint of CL4SRec on shop, not of SASRecBackbone on shop'),
], ids=['fewer-epochs', 'other-model', 'other-dataset', 'other-data-path', 'config-given', 'other-seed',
        'config-changed', 'data-changed', 'no-checkpoint', 'truncated-checkpoint', 'foreign-checkpoint',
        'checkpoint-of-other-model'])
def test_resume_refused_in_one_line_writing_nothing(tamper, extra, message, shop, tmp_path, own_yaml, capsys):
    out = tmp_path / 'run'
    assert main(shop + ['--epochs', '2', '--out', str(out)]) == 0
    data = tmp_path / 'data'
    paths = {'out': out, 'yaml': own_yaml, 'data': data, 'inter': data / 'shop' / 'shop.inter'}
    if tamper is not None:
        tamper(out, paths)
    before = _files(out)
    capsys.readouterr()
    assert main(['train', '--resume', str(out)] + [a.format(**paths) for a in extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith('recsys: error: ' + message.format(**paths)) and err.count('\n') == 1, err
    assert _files(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ['data', 'own.yaml', 'run']


def test_outputs_follow_the_umask(shop, tmp_path):
    out, copy = tmp_path / 'run', tmp_path / 'copy'
    previous = os.umask(0o027)
    try:
        assert main(shop + ['--epochs', '1', '--out', str(out), '--export-topk', '2']) == 0
        assert main(['train', '--resume', str(out), '--epochs', '2', '--out', str(copy), '--quiet']) == 0
    finally:
        os.umask(previous)
    expected = {'args.json', 'metrics.json', 'config.yaml', 'model.pth', 'last.pth', 'log.txt', 'topk.tsv'}
    assert {p.name for p in out.iterdir()} == expected and {p.name for p in copy.iterdir()} == expected - {'topk.tsv'}
    modes = {f'{p.parent.name}/{p.name}': oct(p.stat().st_mode & 0o777) for p in [*out.iterdir(), *copy.iterdir()]}
    assert set(modes.values()) == {'0o640'}, modes
    assert oct(out.stat().st_mode & 0o777) == '0o750'


def test_resume_of_a_run_saved_before_checkpoints_held_its_history(shop, tmp_path):
    out = tmp_path / 'run'
    assert main(shop + ['--epochs', '1', '--out', str(out)]) == 0
    first = json.loads((out / 'metrics.json').read_text())
    checkpoint = torch.load(out / 'last.pth', weights_only=False)
    del checkpoint['history'], checkpoint['train_seconds']
    torch.save(checkpoint, out / 'last.pth')
    assert main(['train', '--resume', str(out), '--epochs', '2', '--quiet']) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert [h['epoch'] for h in metrics['history']] == [0, 1] and metrics['history'][0] == first['history'][0]
    assert metrics['train_time_s'] > first['train_time_s']  # metrics.json of the first segment, which ends at epoch 0


def test_python_resume_checks_the_checkpoint_and_reports_every_segment(tmp_path):
    import recsys
    write_inter(tmp_path / 'data' / 'shop', 'shop', users=25)
    config, out = dict(OWN, data_path=str(tmp_path / 'data'), epochs=1, device='cpu'), tmp_path / 'run'
    first = recsys.run('SASRecBackbone', 'shop', config, out_dir=out)
    with pytest.raises(FileNotFoundError, match=r'nothing\.pth is missing \(the run stopped before its first'):
        recsys.run('SASRecBackbone', 'shop', config, out_dir=out, resume=tmp_path / 'nothing.pth')
    with pytest.raises(ValueError, match=r'has trained 1 epochs already; --epochs 0 would relabel it'):
        recsys.run('SASRecBackbone', 'shop', dict(config, epochs=0), out_dir=out, resume=out / 'last.pth')
    second = recsys.run('SASRecBackbone', 'shop', dict(config, epochs=2), out_dir=out, resume=out / 'last.pth')
    assert [h['epoch'] for h in second['history']] == [1]  # this call's epochs
    whole = second['all_segments']
    assert [h['epoch'] for h in whole['history']] == [0, 1] and whole['history'][0] == first['history'][0]
    assert second['train_time_s'] < whole['train_time_s'] <= first['train_time_s'] + second['train_time_s']
    assert whole['history'][1]['elapsed_s'] > whole['history'][0]['elapsed_s']
