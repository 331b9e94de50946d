"""`recsys --help` and `recsys train --help` answer without importing torch or RecBole (seconds): ``recsys`` exports its
names lazily, and recsys.compat is still applied before the first of our modules that uses RecBole."""
import subprocess
import sys
from pathlib import Path

import pytest

import recsys

_ROOT = Path(__file__).resolve().parents[2]
_HEAVY = "sorted(m for m in ('numpy', 'recbole', 'torch') if m in sys.modules)"


def _python(code, *argv):
    done = subprocess.run([sys.executable, '-c', code, *argv], capture_output=True, text=True, timeout=300,
                          cwd=_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize('argv', [['--help'], ['train', '--help']])
def test_help_imports_neither_torch_nor_recbole(argv):
    out = _python("import sys\n"
                  "from recsys.cli import main\n"
                  "try:\n"
                  "    main(sys.argv[1:])\n"
                  "except SystemExit:\n"
                  "    pass\n"
                  f"print('IMPORTED', {_HEAVY})\n", *argv)
    assert 'usage: recsys' in out and 'IMPORTED []' in out, out[-500:]


def test_our_recbole_modules_apply_compat_first(monkeypatch):
    """The import hook of ``recsys``: the first import of one of our modules that may use RecBole applies
    recsys.compat first (this session's conftest imports ``recsys`` and then ``recsys.config`` through it; see
    test_recsys_compat)."""
    calls = []
    monkeypatch.setattr(recsys.compat, 'apply', lambda: calls.append('apply'))
    finder = recsys._CompatFirst()
    monkeypatch.setattr(sys, 'meta_path', [finder, *sys.meta_path])
    for light in ('recsys.cli', 'recsys.compat', 'recsys.data', 'recbole.config', 'recsysx'):
        assert finder.find_spec(light) is None
    assert calls == [] and finder in sys.meta_path
    assert finder.find_spec('recsys.config') is None  # finds nothing itself: the module loads as usual
    assert calls == ['apply'] and finder not in sys.meta_path


def test_every_public_name_resolves():
    for name in recsys.__all__:
        assert getattr(recsys, name) is not None, name
    assert set(recsys.__all__) <= set(dir(recsys))
    assert recsys.MCLRec is recsys.models.MCLRec and recsys.run is recsys.pipeline.run
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        recsys.nothing


def test_list_imports_neither_torch_nor_recbole():
    """`recsys list` reads the light model table (recsys.cli.MODEL_TABLE), not the model classes."""
    out = _python("import sys\n"
                  "from recsys.cli import main\n"
                  "main(['list'])\n"
                  f"print('IMPORTED', {_HEAVY})\n")
    assert 'MCLRec          recsys   trainer: MCLRecTrainer' in out and 'IMPORTED []' in out, out[-500:]


def test_model_table_matches_the_model_classes():
    from recsys.cli import MODEL_TABLE
    assert list(recsys.MODELS) == list(MODEL_TABLE) == ['SASRec', 'SASRecBackbone', 'CL4SRec', 'MCLRec', 'ICSRec',
                                                          'ColdStartCL']
    for name, entry in MODEL_TABLE.items():
        cls = recsys.MODELS[name]
        assert cls.__name__ == name and cls.__module__.startswith(entry.module + '.')
        assert recsys.trainer_for(cls).__name__ == entry.trainer
        assert entry.origin == ('RecBole' if cls.__module__.startswith('recbole.') else 'recsys')
    assert recsys.MODELS['SASRec'].__module__ == 'recbole.model.sequential_recommender.sasrec'
