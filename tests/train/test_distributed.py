"""graphcl.train.distributed: one-process answers, init_from_env's checks, and on two Gloo processes the gather that
carries gradients (hand-checked, and against the one-process InfoNCE gradient), rank 0's values for every rank."""
import warnings

import pytest
import torch

from graphcl.losses import info_nce
from graphcl.train.distributed import (barrier, broadcast_object, device_for_rank, gather_with_grad, init_from_env,
                                       is_distributed, is_main_process, rank, run_on_main, shutdown, world_size)
from tests.train.distributed_testing import run_in_processes

TAU = 0.5


def _global_views() -> tuple[torch.Tensor, torch.Tensor]:
    """Two views of a global batch of 5 samples: rank 0 holds rows 0-2, rank 1 rows 3-4 (uneven shares)."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(5, 3, generator=generator), torch.randn(5, 3, generator=generator)


def test_without_a_process_group_every_helper_answers_as_one_process():
    x = torch.ones(3, 2)
    assert (rank(), world_size(), is_main_process(), is_distributed()) == (0, 1, True, False)
    assert gather_with_grad(x) is x and gather_with_grad(x, [3]) is x
    assert broadcast_object({"a": 1}) == {"a": 1}
    assert run_on_main(lambda a, b: a + b, 2, b=3) == 5
    with pytest.raises(ValueError, match="boom"):
        run_on_main(lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert device_for_rank("cpu") == torch.device("cpu")
    barrier()
    shutdown()


def test_init_from_env_needs_world_size_above_one_and_a_rank(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert init_from_env() is False
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_from_env() is False
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="WORLD_SIZE=2 is set but RANK is not"):
        init_from_env()
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match="Unknown distributed backend 'mpi'"):
        init_from_env("mpi")


def _rank_zero_fails():
    if rank() == 0:
        raise ValueError("rank 0 refused")
    return "never returned"


def _collectives() -> dict:
    """Run on each of 2 ranks; returns what the parent checks."""
    me = rank()
    out = {"rank": me, "world": world_size(), "broadcast": broadcast_object({"from": me}),
           "chosen": run_on_main(lambda: f"chosen by {rank()}")}
    try:
        run_on_main(_rank_zero_fails)
    except ValueError as err:
        out["raised"] = str(err)
    with pytest.raises(ValueError, match="'sizes'"):
        gather_with_grad(torch.zeros(1, 2), [1])  # one entry for two ranks: refused on every rank

    # hand case: rank 0 holds a = [1, 2], rank 1 holds b = [3, 4]; only rank 1 has a loss, b . a (its anchor b,
    # rank 0's row a as the other sample). d/da = b reaches rank 0 through the gather; d/db = a stays on rank 1.
    x = torch.tensor([[1.0, 2.0]] if me == 0 else [[3.0, 4.0]], requires_grad=True)
    gathered = gather_with_grad(x)
    loss = gathered[1] @ gathered[0] if me == 1 else 0 * gathered.sum()
    loss.backward()
    out["gathered"], out["hand_grad"] = gathered.detach().numpy(), x.grad.numpy()

    # the NT-Xent of the gathered global batch on every rank: its gradient to this rank's rows is world_size times
    # the one-process gradient (the gather's backward sums over the ranks; DDP's average divides it back)
    z1, z2 = _global_views()
    rows = slice(0, 3) if me == 0 else slice(3, 5)
    mine1, mine2 = z1[rows].clone().requires_grad_(), z2[rows].clone().requires_grad_()
    loss = info_nce(gather_with_grad(mine1, [3, 2]), gather_with_grad(mine2, [3, 2]), temperature=TAU)
    loss.backward()
    out["nt_xent"], out["grad1"], out["grad2"] = float(loss), mine1.grad.numpy(), mine2.grad.numpy()
    return out


def test_two_processes_gather_with_gradients_and_share_rank_zero_values():
    results = run_in_processes(_collectives, 2)
    z1, z2 = (z.requires_grad_() for z in _global_views())
    loss = info_nce(z1, z2, temperature=TAU)  # the one-process loss over the same global batch
    loss.backward()
    for me, out in enumerate(results):
        assert (out["rank"], out["world"]) == (me, 2)
        assert out["broadcast"] == {"from": 0} and out["chosen"] == "chosen by 0"
        assert out["raised"] == "rank 0 refused"
        assert out["gathered"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
        rows = slice(0, 3) if me == 0 else slice(3, 5)
        assert out["nt_xent"] == pytest.approx(float(loss.detach()), rel=1e-6)
        assert out["grad1"] == pytest.approx(2 * z1.grad[rows].numpy(), rel=1e-5, abs=1e-7)
        assert out["grad2"] == pytest.approx(2 * z2.grad[rows].numpy(), rel=1e-5, abs=1e-7)
    # rank 0's gradient comes only from rank 1's loss, through the gather
    assert results[0]["hand_grad"].tolist() == [[3.0, 4.0]]
    assert results[1]["hand_grad"].tolist() == [[1.0, 2.0]]
    assert abs(results[0]["grad1"]).sum() > 0


def _gather_warnings_and_sums() -> dict:
    """Run on each of 2 ranks: gathers of equal parts and of uneven ones (rank 1's part empty), every warning
    recorded; rank r's loss is (r + 1) times the sum of both gathers."""
    me = rank()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = torch.full((2, 1), float(me + 1), requires_grad=True)
        gathered = gather_with_grad(x)
        uneven = gather_with_grad(x if me == 0 else x[:0], [2, 0])
        ((me + 1) * (gathered.sum() + uneven.sum())).backward()
    return {"deprecations": [str(w.message) for w in caught if issubclass(w.category, (FutureWarning,
                                                                                         DeprecationWarning))],
            "gathered": gathered.detach().numpy(), "uneven": uneven.detach().numpy(), "grad": x.grad.numpy()}


def test_gather_uses_no_deprecated_collective_and_sums_the_gradients_of_all_ranks():
    results = run_in_processes(_gather_warnings_and_sums, 2)
    for out in results:
        assert out["deprecations"] == []
        assert out["gathered"].tolist() == [[1.0], [1.0], [2.0], [2.0]] and out["uneven"].tolist() == [[1.0], [1.0]]
    # every rank's loss reaches each part: 1 + 2 from the equal gather, and again from the uneven one for rank 0's
    assert results[0]["grad"].tolist() == [[6.0], [6.0]] and results[1]["grad"].tolist() == [[3.0], [3.0]]
