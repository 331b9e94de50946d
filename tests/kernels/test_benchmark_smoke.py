"""The kernel benchmark runs at --smoke size on CPU and writes its table atomically."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_kernels", ROOT / "benchmarks" / "kernels.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "sub" / "table.md"
    assert bench.main(["--smoke", "--no-sweep", "--reps", "1", "--out", str(out)]) == 0
    text = out.read_text()
    for row in ("torch index_add_", "torch scatter_add_", "one_hot(labels).T @ x", "ours segment_sum",
                "ours csr_aggregate max", "PamC loss fwd+bwd"):
        assert row in text
    assert "command:" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["table.md"]  # no temp file left behind
