"""benchmarks/seqrec.py: the smoke run writes its report, and with --store a later invocation reuses finished runs
and continues an interrupted one from its last validated epoch, with the history kept and its clock continued."""
import json

import pytest

import recsys


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("seqrec")


def _argv(tmp_path, *extra):
    return ['--smoke', '--models', 'SASRecBackbone', '--epochs', '3', '--store', str(tmp_path / 'store'),
            '--output', str(tmp_path / 'seqrec.md'), '--json', str(tmp_path / 'runs.json'), *extra]


def test_store_resumes_an_interrupted_run_and_reuses_a_finished_one(tmp_path, monkeypatch, bench):
    real_run = recsys.run

    def interrupted_after_two_epochs(*args, epoch_callback=None, **kwargs):
        def callback(record):
            epoch_callback(record)
            if record['epoch'] == 1:
                raise KeyboardInterrupt
        return real_run(*args, epoch_callback=callback, **kwargs)

    monkeypatch.setattr(recsys, 'run', interrupted_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        bench.main(_argv(tmp_path))
    (folder,) = (tmp_path / 'store').iterdir()
    assert folder.name.startswith('SASRecBackbone-seed2020-')
    first = json.loads((folder / 'history.json').read_text())
    assert [r['epoch'] for r in first] == [0, 1] and not (folder / 'result.json').exists()

    monkeypatch.setattr(recsys, 'run', real_run)
    assert bench.main(_argv(tmp_path)) == 0
    result = json.loads((folder / 'result.json').read_text())
    assert result['resumed_from_epoch'] == 2 and result['epochs_run'] == 3
    assert [r['epoch'] for r in result['history']] == [0, 1, 2]
    assert result['history'][:2] == first  # the interrupted part is kept as it was
    assert result['history'][2]['elapsed_s'] > first[1]['elapsed_s']
    assert result['train_time_s'] == pytest.approx(result['history'][2]['elapsed_s'], rel=0.2)
    assert 'resumed at epoch 2' in (tmp_path / 'seqrec.md').read_text()

    def no_training(*args, **kwargs):
        raise AssertionError('a finished run was trained again')

    monkeypatch.setattr(recsys, 'run', no_training)
    assert bench.main(_argv(tmp_path)) == 0
    report = (tmp_path / 'seqrec.md').read_text()
    assert 'SASRecBackbone seed 2020 reused' in report and '| SASRecBackbone |' in report
    (run,) = json.loads((tmp_path / 'runs.json').read_text())
    assert run['test'] == result['test'] and run['status'] == 'reused'

    # another setting (stride 10) is another run, in its own folder
    monkeypatch.setattr(recsys, 'run', real_run)
    assert bench.main(_argv(tmp_path, '--stride', '10', '--epochs', '1')) == 0
    assert len(list((tmp_path / 'store').iterdir())) == 2


def test_without_store_every_run_is_fresh(tmp_path, bench):
    out = tmp_path / 'seqrec.md'
    assert bench.main(['--smoke', '--models', 'SASRecBackbone', '--epochs', '1', '--output', str(out)]) == 0
    text = out.read_text()
    assert '| SASRecBackbone |' in text and 'earlier invocations' not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ['seqrec.md', 'seqrec.png']
