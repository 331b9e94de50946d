"""benchmarks/scaling.py --smoke: every part (1 and 2 processes, the large-graph epoch, full batch against
mini-batch) runs and lands in the report."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_writes_every_part(tmp_path):
    out = tmp_path / "scaling.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scaling.py"), "--smoke", "--output", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert "(smoke sizes: a check that every part runs, not a measurement)" in text
    rows = re.findall(r"^\| ([12]) \| [0-9.]+ \| ([0-9]+) \| ([0-9.]+) \|$", text, flags=re.M)
    assert [r[0] for r in rows] == ["1", "2"] and rows[0][2] == "1.00" and int(rows[1][1]) > 0
    assert re.search(r"^`synthetic`, 5000 nodes, [0-9]+ directed edges", text, flags=re.M)
    assert re.search(r"extrapolated to 40 batches", text)
    probe = re.findall(r"^\| (full batch|mini-batch) \| (all nodes|128) \| 2 \| [0-9]+ \| ([0-9.]+) \+- ", text,
                       flags=re.M)
    assert [p[0] for p in probe] == ["full batch", "mini-batch"] and all(0 < float(p[2]) <= 100 for p in probe)
