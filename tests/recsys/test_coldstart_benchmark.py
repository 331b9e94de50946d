"""benchmarks/coldstart.py --smoke: one seed, one epoch, a few variants; writes its report and its plot."""
import json

import pytest


def test_smoke_writes_report_plot_and_runs(tmp_path, load_benchmark):
    bench = load_benchmark('coldstart')
    out = tmp_path / 'coldstart.md'
    assert bench.main(['--smoke', '--threads', '1', '--models', 'BPR', 'ColdStartCL', '--lrs', '0.01',
                       '--ks', '1', '--output', str(out), '--json', str(tmp_path / 'runs.json')]) == 0
    text = out.read_text()
    for name in ('| BPR |', '| ColdStartCL |', '| ColdStartCL-lr0.01 |'):
        assert name in text
    assert 'cold k=1 ndcg@10' in text and 'field importance' in text
    assert out.with_suffix('.png').read_bytes()[:4] == b'\x89PNG'
    runs = json.loads((tmp_path / 'runs.json').read_text())
    lr_run = next(r for r in runs if r['variant'] == 'ColdStartCL-lr0.01')
    assert lr_run['config']['learning_rate'] == 0.01 and lr_run['seed'] == 2020


def test_unknown_model_is_a_usage_error(load_benchmark):
    with pytest.raises(SystemExit, match="unknown model 'LightGBM'"):
        load_benchmark('coldstart').main(['--smoke', '--models', 'LightGBM'])


def test_resume_skips_finished_runs_and_sweep_rows_use_their_seeds(tmp_path, load_benchmark):
    bench = load_benchmark('coldstart')
    out, store = tmp_path / 'coldstart.md', tmp_path / 'coldstart.json'
    common = ['--smoke', '--threads', '1', '--ks', '0', '--lrs', '--output', str(out)]
    assert bench.main(common + ['--models', 'Pop']) == 0
    first = json.loads(store.read_text())
    assert [r['variant'] for r in first] == ['Pop']
    assert 'runs finished: 1\n' in out.read_text()  # run here, nothing reused
    args = common + ['--models', 'Pop', 'ColdStartCL-nocl', '--seeds', '2020', '2021', '--resume']
    args[args.index('--smoke')] = '--epochs'  # two seeds: --smoke would keep one
    args.insert(args.index('--epochs') + 1, '1')
    todo = bench.tasks(bench._parser().parse_args(args), {})
    assert [(t['variant'], t['seed']) for t in todo] == [('Pop', 2020), ('Pop', 2021), ('ColdStartCL-nocl', 2020)]
    assert bench.main(common + ['--models', 'Pop', '--resume']) == 0  # nothing left to run: a merge of the store
    assert 'runs finished: 1, of which 1 read from the store' in out.read_text()
    other = bench._parser().parse_args(common + ['--models', 'ColdStartCL'])
    assert '| Pop | 1 |' in bench.report(other, first, 'cmd', 0.0, reused=1)  # a stored variant outside --models
