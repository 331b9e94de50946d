"""benchmarks/node_classification.py: method specs with config overrides (ablation rows)."""
from pathlib import Path

import pytest


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("node_classification")


def test_parse_method_plain_and_overrides(bench):
    parse = bench.parse_method
    assert parse("grace") == ("grace", {})
    assert parse("grace:tau=0.6,epochs=300") == ("grace", {"tau": 0.6, "epochs": 300})
    assert parse("csgcl:activation=prelu,undirected_drop=false") == (
        "csgcl", {"activation": "prelu", "undirected_drop": False})


def test_parse_method_rejects_malformed_override(bench):
    with pytest.raises(ValueError, match="key=value"):
        bench.parse_method("grace:tau")


def _table(path: Path) -> list[str]:
    """The report's table rows without the timing column, and the per-seed accuracy lines."""
    lines = path.read_text().splitlines()
    rows = [line.rsplit("|", 2)[0] for line in lines if line.startswith("| synthetic")]
    return rows + [line for line in lines if line.startswith("- synthetic")]


def test_jobs_give_the_same_table_as_sequential(tmp_path, bench):
    main = bench.main
    common = ["--datasets", "synthetic", "--methods", "grace", "grace:tau=0.6", "--seeds", "2", "--epochs", "3",
              "--eval-splits", "1", "--threads", "1"]
    tables = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}.md"
        assert main(common + ["--jobs", str(jobs), "--output", str(out), "--runs", str(tmp_path / f"runs{jobs}")]) == 0
        tables.append(_table(out))
    assert len(tables[0]) == 4 and tables[0][0].startswith("| synthetic | grace | - | 3 |")
    assert tables[1] == tables[0]


def test_partial_report_counts_finished_seeds(tmp_path, bench):
    """The report rewritten after each run shows the finished seeds only, and says how many there are."""
    args = bench._parser().parse_args(["--datasets", "synthetic", "--seeds", "2", "--methods", "grace"])
    out = tmp_path / "grace-synthetic-seed1"
    out.mkdir()
    (out / "config.yaml").write_text("preset: null\n")
    finished = {"linear_probe": {"accuracy_mean": 0.9, "val_accuracies": [0.8, 0.85]}, "train_seconds": 1.5,
                "epochs": 7}
    text = bench.report(args, "cmd", [("synthetic", "grace", "grace", range(0, 2))], [{}, finished], tmp_path, [], 60.0)
    assert "- PARTIAL: 1 of 2 runs finished so far" in text
    assert "| synthetic | grace | - | 7 | 90.00 +- 0.00 (1 of 2 seeds) | 82.50 | - | 1.5 |" in text
    assert "- synthetic / grace: -, 90.00" in text
    finished["linear_probe_public_split"] = {"accuracy_mean": 0.7}  # a dataset with a public split
    text = bench.report(args, "cmd", [("synthetic", "grace", "grace", range(0, 2))], [{}, finished], tmp_path, [], 60.0)
    assert "| 82.50 | 70.00 +- 0.00 | 1.5 |" in text
