"""The loss benchmark runs at a small size, its two paths give the same loss, and its table is written atomically
with the per-direction path restored afterwards."""
import sys

import pytest


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("loss_speed")


def test_benchmark_smoke_and_both_paths_agree(tmp_path, capsys, bench):
    rows = bench.measure(40, 8, [None, 16], reps=1)
    assert [(r["loss"], r["batch"]) for r in rows] == [(name, bs) for name in ("info_nce", "dcl",
                                                                               "hard_negative_mixing")
                                                       for bs in (None, 16)]
    for r in rows:
        assert abs(r["fused"][1] - r["base"][1]) < 1e-5
    out = tmp_path / "sub" / "loss_speed.md"
    assert bench.main(["--nodes", "40", "--dim", "8", "--batch", "16", "--reps", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| dcl | 16 |" in text and "command: python benchmarks/loss_speed.py" in text
    assert [p.name for p in out.parent.iterdir()] == ["loss_speed.md"]
    assert "per-direction" in capsys.readouterr().out


def test_per_direction_patch_is_undone(bench):
    mod = sys.modules["graphcl.losses._contrast"]
    before = mod.pair_supported
    with bench.per_direction_path():
        assert mod.pair_supported() is False
    assert mod.pair_supported is before
