"""`graphcl --help`, `graphcl train --help`, `graphcl plot --help` and `graphcl list` answer without importing torch
or PyG (seconds), from light name tables that must equal the registries they mirror."""
import subprocess
import sys

import pytest

from graphcl import cli

_PROBE = ("import sys\n"
          "from graphcl.cli import main\n"
          "try:\n"
          "    main(sys.argv[1:])\n"
          "except SystemExit:\n"
          "    pass\n"
          "print('IMPORTED', sorted(m for m in ('torch', 'torch_geometric') if m in sys.modules))\n")


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["plot", "--help"], ["list"]])
def test_help_and_list_do_not_import_torch(argv):
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stdout, done.stdout[-300:]
    assert "usage: graphcl" in done.stdout or "methods:" in done.stdout


def test_light_names_equal_the_registries():
    from graphcl.methods import METHODS, PRETRAIN_METHODS
    from graphcl.molecules import MOLECULENET_PRESETS

    assert cli.GRAPH_METHODS == tuple(sorted(METHODS))
    assert {name: cli.method_presets(name) for name in cli.GRAPH_METHODS} == {
        name: list(cls.presets) for name, cls in METHODS.items()}
    assert cli.PRETRAIN_ENCODERS == {name: cls.encoder_names for name, cls in sorted(PRETRAIN_METHODS.items())}
    assert cli.MOLECULE_DATASETS == {name: preset.task_type for name, preset in MOLECULENET_PRESETS.items()}


def test_train_help_lists_the_methods(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "one of: csgcl, ggd, grace, pamc" in capsys.readouterr().out


def test_molecule_commands_keep_their_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["finetune", "--help"])
    out = capsys.readouterr().out
    assert "--protocol {finetune,linear,both}" in out and "--split {scaffold,random}" in out


@pytest.mark.parametrize("package", ["graphcl.data", "graphcl.train", "graphcl.bench"])
def test_lazy_packages_export_every_name(package):
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        getattr(module, "nothing")


def test_registry_stays_the_function():
    """``graphcl.data.registry`` is both a submodule and the function the package exports: the function wins."""
    from graphcl.data import registry

    assert callable(registry) and "Cora" in registry()
