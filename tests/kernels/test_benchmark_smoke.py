"""The kernel benchmark runs at --smoke size on CPU and writes its table atomically."""


def test_benchmark_smoke(tmp_path, capsys, load_benchmark):
    bench = load_benchmark("kernels")
    out = tmp_path / "sub" / "table.md"
    assert bench.main(["--smoke", "--no-sweep", "--reps", "1", "--out", str(out)]) == 0
    text = out.read_text()
    for row in ("torch index_add_", "torch scatter_add_", "one_hot(labels).T @ x", "ours segment_sum",
                "ours csr_aggregate max", "PamC loss fwd+bwd"):
        assert row in text
    assert "command:" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["table.md"]  # no temp file left behind
