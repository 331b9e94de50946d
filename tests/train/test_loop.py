import os

import pytest
import torch

from graphcl.data import csbm
from graphcl.methods import GRACE, resolve_config
from graphcl.train import CHECKPOINT_NAME, fit, load_checkpoint, write_json
from graphcl.train.io import atomic_path


def _method(seed=0):
    data = csbm(num_nodes=120, num_blocks=3, num_features=8, p_in=0.1, p_out=0.01, seed=0)
    config = resolve_config(GRACE, "synthetic", overrides={"seed": seed, "num_hidden": 8, "num_proj_hidden": 8})
    return GRACE(data, config)


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    full = _method()
    losses_full = fit(full, 6, progress=False)

    part = _method()
    fit(part, 3, tmp_path, checkpoint_every=3, progress=False)
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint["epoch"] == 3
    resumed = _method()  # a fresh process would rebuild the method from the saved config
    losses_resumed = fit(resumed, 6, tmp_path, checkpoint=checkpoint, progress=False)

    assert losses_resumed == pytest.approx(losses_full, rel=1e-5)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["epoch"] == 6


def test_training_lowers_the_loss():
    losses = fit(_method(), 30, progress=False)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


def test_missing_checkpoint_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        load_checkpoint(tmp_path)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_denormals_are_flushed_while_training_and_restored_after():
    from graphcl.train.loop import _denormals_flushed, flush_denormals

    before = _denormals_flushed()  # in-process CLI tests may have switched flushing on for the whole process
    torch.set_flush_denormal(False)
    try:
        tiny = torch.tensor([1e-39])  # subnormal in float32 (made while flushing is off, or it would be 0)
        assert tiny.mul(1.0).item() != 0.0
        with flush_denormals():
            assert tiny.mul(1.0).item() == 0.0
        assert tiny.mul(1.0).item() != 0.0

        seen = []
        method = _method()
        step = method.training_step
        method.training_step = lambda epoch: seen.append(tiny.mul(1.0).item()) or step(epoch)
        fit(method, 2, progress=False)
        assert seen == [0.0, 0.0] and tiny.mul(1.0).item() != 0.0
    finally:
        torch.set_flush_denormal(before)


def test_process_wide_flush_reaches_the_worker_threads():
    import subprocess
    import sys

    code = ("import torch\n"
            "from graphcl.train import flush_denormals_process_wide\n"
            "flush_denormals_process_wide()\n"  # before any parallel op, as the CLI does
            "torch.set_num_threads(2)\n"
            "y = torch.full((1 << 20,), 1e-39) * 1.0\n"  # split across both threads
            "print(int((y != 0).sum()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_matmul_precision_holds_while_training_and_is_restored():
    from graphcl.train import matmul_precision

    before = torch.get_float32_matmul_precision()
    seen = []
    method = _method()
    step = method.training_step
    method.training_step = lambda epoch: seen.append(torch.get_float32_matmul_precision()) or step(epoch)
    fit(method, 2, progress=False, precision="medium")
    assert seen == ["medium", "medium"] and torch.get_float32_matmul_precision() == before
    with pytest.raises(RuntimeError):
        with matmul_precision("high"):
            assert torch.get_float32_matmul_precision() == "high"
            raise RuntimeError("interrupted")
    assert torch.get_float32_matmul_precision() == before


def test_matmul_precision_keeps_products_close_to_float32():
    from graphcl.train import matmul_precision

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 128, generator=g), torch.randn(128, 64, generator=g)
    exact = a.double() @ b.double()
    for precision in ("highest", "high", "medium"):
        with matmul_precision(precision):
            got = (a @ b).double()
        # bfloat16 inputs (8-bit significand), float32 sums: relative error per product below 2^-8 of |a||b|
        bound = 2.0 ** -8 * a.norm(dim=1, keepdim=True).double() @ b.norm(dim=0, keepdim=True).double()
        assert ((got - exact).abs() <= bound).all(), precision


def test_unknown_matmul_precision_is_rejected_before_training():
    from graphcl.runner import run

    with pytest.raises(ValueError, match=r"'matmul_precision' to be one of \(.*'medium'\) \(got 'low'\)"):
        run("grace", "synthetic", overrides={"matmul_precision": "low", "epochs": 1}, progress=False)
    with pytest.raises(ValueError, match="matmul_precision"):
        fit(_method(), 1, progress=False, precision="fast")
