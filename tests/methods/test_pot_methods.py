"""POT switched on in GRACE, CSGCL and GGD: the combined loss is (1 - kappa) L + kappa mean of the views' POT terms,
budgets come from each method's own edge dropping, and bad POT settings are refused."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphcl.losses.pot import pot_loss
from graphcl.losses.pot_bounds import drop_budget
from graphcl.methods import CSGCL, GGD, GRACE, resolve_config


def _graph(n: int = 40, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    pairs = torch.triu_indices(n, n, 1)
    chosen = pairs[:, torch.rand(pairs.shape[1], generator=g) < 0.15]
    edge_index = torch.cat([chosen, chosen.flip(0)], dim=1)
    return Data(x=torch.rand(n, 12, generator=g), edge_index=edge_index, y=torch.randint(0, 3, (n,), generator=g))


def _method(cls, **overrides):
    small = {"num_hidden": 8, "num_proj_hidden": 8} if cls is not GGD else {"num_hidden": 8}
    config = resolve_config(cls, "toy", overrides={**small, **overrides})
    return cls(_graph(), config)


def _step_loss(method) -> float:
    method.model.train()
    return float(method.training_step(0).detach())


@pytest.mark.parametrize("cls, bound", [(GRACE, "view"), (CSGCL, "view"), (GRACE, "certified"),
                                        (GRACE, "reference")])
def test_kappa_zero_is_the_plain_loss_and_kappa_one_is_the_pot_terms(cls, bound):
    plain = _step_loss(_method(cls, seed=3))
    assert _step_loss(_method(cls, seed=3, pot=True, pot_kappa=0.0)) == pytest.approx(plain, rel=1e-6)

    m = _method(cls, seed=3, pot=True, pot_kappa=1.0, pot_bound=bound)
    total = _step_loss(m)
    again = _method(cls, seed=3)
    views = [again.view(0), again.view(1)]
    with torch.no_grad():
        h = [again.model["encoder"](v.x, v.edge_index) for v in views]
        terms = [pot_loss(again.model["encoder"], views[k].x, m.pot.bounds[k], h[1 - k], bound=bound,
                          view_edge_index=views[k].edge_index)
                 for k in (0, 1)]
    assert total == pytest.approx(float((terms[0] + terms[1]) / 2), rel=1e-5)


def test_grace_budgets_follow_its_drop_rates():
    m = _method(GRACE, pot=True, drop_edge_rate_1=0.2, drop_edge_rate_2=0.6)
    for bounds, p in zip(m.pot.bounds, (0.2, 0.6)):
        assert torch.equal(bounds.budget, drop_budget(m.train_data.edge_index, m.data.num_nodes, p))
    assert m.pot.bounds[1].budget.sum() > m.pot.bounds[0].budget.sum()


def test_csgcl_budgets_follow_communal_edge_dropping():
    m = _method(CSGCL, pot=True)
    for bounds, (ced, _) in zip(m.pot.bounds, m.views):
        expected = drop_budget(m.train_data.edge_index, m.data.num_nodes, 1 - ced.keep_prob(m.train_data))
        assert torch.equal(bounds.budget, expected)
    assert m.config["pot_kappa"] == 0.3


def test_ggd_with_pot_trains_and_reaches_the_encoder():
    m = _method(GGD, pot=True, pot_kappa=0.5)
    assert m.pot.bounds[0].budget.sum() > 0  # pot_drop_rate 0.2 allows drops on this graph
    loss = m.train_epoch(0)
    assert loss == loss and loss > 0
    assert _step_loss(_method(GGD, seed=1, pot=True, pot_kappa=0.0)) == pytest.approx(
        _step_loss(_method(GGD, seed=1)), rel=1e-6)


def test_pot_batch_scores_a_seeded_subset():
    a, b = (_method(GRACE, pot=True, pot_bound="view", pot_batch=10) for _ in range(2))
    ta, tb = a.pot.targets(), b.pot.targets()
    assert ta.numel() == 10 and ta.unique().numel() == 10 and torch.equal(ta, tb)
    # a batch larger than the graph: all nodes
    assert _method(GRACE, pot=True, pot_bound="view", pot_batch=1000).pot.targets() is None
    assert torch.isfinite(torch.tensor(a.train_epoch(0)))


@pytest.mark.parametrize("overrides, message", [
    ({"pot_kappa": 1.5}, "pot_kappa"),
    ({"pot_batch": 1}, "pot_batch"),
    ({"pot_batch": 2.5}, "pot_batch"),
    ({"pot_intercept": "tight"}, "pot_intercept"),
    ({"pot_bound": "exact"}, "pot_bound"),
    ({"pot_batch": 8}, "2-layer encoder and pot_batch null"),
    ({"num_layers": 3}, "2-layer encoder and pot_batch null"),
    ({"activation": "elu"}, "piecewise-linear"),
])
def test_bad_pot_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _method(GRACE, pot=True, **overrides)


def test_pot_keys_are_not_accepted_by_methods_without_it():
    from graphcl.methods import PamC
    with pytest.raises(ValueError, match="Unknown config key"):
        resolve_config(PamC, "toy", overrides={"pot": True})
