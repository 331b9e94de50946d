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
