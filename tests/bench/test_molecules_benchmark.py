"""benchmarks/molecules.py: the table over a store of finished runs (means over seeds, partial cells, published)."""
import json

import pytest


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("molecules")


def _result(store, dataset, model, protocol, seed, test):
    path = store / "results" / f"{dataset}-{model}-{protocol}-{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"test": test}))


def test_table_means_over_seeds_marks_partial_cells_and_shows_published(bench, tmp_path):
    args = bench.parse_args(["--datasets", "bbbp", "esol", "--models", "none-kmpnn", "kcl-kmpnn",
                             "--protocols", "finetune", "--seeds", "0", "1"])
    _result(tmp_path, "bbbp", "kcl-kmpnn", "finetune", 0, 0.70)
    _result(tmp_path, "bbbp", "kcl-kmpnn", "finetune", 1, 0.80)
    _result(tmp_path, "bbbp", "kcl-kmpnn", "finetune", 7, 0.10)  # a seed outside --seeds: ignored
    _result(tmp_path, "esol", "kcl-kmpnn", "finetune", 0, 1.5)
    _result(tmp_path, "bbbp", "none-kmpnn", "finetune", 0, None)  # no task with both classes: left out
    text = bench.table(args, tmp_path)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "0.750 +- 0.050 [0.961]" in rows["kcl-kmpnn"]  # mean of seeds 0 and 1, the paper's figure beside
    assert "1.500 +- 0.000 (1 seeds) [0.732]" in rows["kcl-kmpnn"]
    assert rows["none-kmpnn"].count("| -") == 2


def test_smoke_settings(bench):
    args = bench.parse_args(["--smoke"])
    assert args.corpus_size == 64 and args.pretrain_epochs == 1 and args.seeds == [0]
    assert args.datasets == ["bbbp", "esol"]
