"""benchmarks/node_classification.py: method specs with config overrides (ablation rows)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_node_classification",
                                                  ROOT / "benchmarks" / "node_classification.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parse_method_plain_and_overrides():
    parse = _bench().parse_method
    assert parse("grace") == ("grace", {})
    assert parse("grace:tau=0.6,epochs=300") == ("grace", {"tau": 0.6, "epochs": 300})
    assert parse("csgcl:activation=prelu,undirected_drop=false") == (
        "csgcl", {"activation": "prelu", "undirected_drop": False})


def test_parse_method_rejects_malformed_override():
    with pytest.raises(ValueError, match="key=value"):
        _bench().parse_method("grace:tau")
