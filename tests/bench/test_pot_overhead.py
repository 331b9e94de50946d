"""benchmarks/pot_overhead.py: one measurement in a child process, and the report's rows."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("pot_overhead")


def test_child_measures_a_pot_epoch(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pot_overhead.py"), "--child", "synthetic",
                           "grace", "1", "--epochs", "1", "--root", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["nodes"] == 1200 and row["edges"] > 0 and row["seconds"] > 0 and row["peak_mib"] >= 0


def test_report_gives_ratio_and_extra_memory(bench):
    args = bench._parser().parse_args(["--datasets", "Cora", "--epochs", "3"])
    rows = [{"dataset": "Cora", "method": "grace", "nodes": 2708, "edges": 10556, "preset": "Cora",
             "plain_s": 0.2, "pot_s": 0.3, "plain_mib": 100.0, "pot_mib": 150.0}]
    text = bench.report(args, "cmd", rows, 60.0)
    assert "| Cora | 2708 | 10556 | grace | Cora | 0.200 | 0.300 | 1.50 | 100 | 150 | 50 | 28 |" in text
