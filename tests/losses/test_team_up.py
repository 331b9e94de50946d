import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import TeamUpLoss, info_nce, team_up, team_up_gamma


def _reference_form(z1, z2, cs, gamma, tau):
    """Dense Team-up as in the CSGCL reference: exp((cos + gamma S_j + gamma S_i) / tau), both directions."""
    def one(a, b):
        a, b = F.normalize(a.double(), dim=1), F.normalize(b.double(), dim=1)
        bias = gamma * cs.double() + gamma * cs.double().unsqueeze(1)
        refl = torch.exp((a @ a.t() + bias) / tau)
        between = torch.exp((a @ b.t() + bias) / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))
    return (0.5 * (one(z1, z2) + one(z2, z1))).mean()


def test_gamma_schedule():
    assert [team_up_gamma(t, 1000, 10) for t in (0, 1000, 1001, 1500, 3000)] == [0.0, 0.0, 0.01, 5.0, 10.0]
    assert team_up_gamma(2500, 2000, 1) == 1.0


def test_equals_info_nce_at_gamma_zero():
    g = torch.Generator().manual_seed(0)
    z1, z2, s = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g), torch.rand(7, generator=g)
    loss = TeamUpLoss(temperature=0.4, t0=100, gamma_max=2.0)
    assert loss.gamma(100) == 0.0
    assert torch.equal(loss(z1, z2, s, epoch=100), info_nce(z1, z2, 0.4))
    assert torch.equal(team_up(z1, z2, s, 0.0, 0.4), info_nce(z1, z2, 0.4))


@pytest.mark.parametrize('gamma', [0.3, 2.0])
@pytest.mark.parametrize('batch_size', [None, 3])
def test_matches_reference_form(gamma, batch_size):
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    s = torch.rand(8, generator=g) - 0.3  # strengths can be negative
    out = team_up(z1, z2, s, gamma, 0.5, batch_size)
    assert out.item() == pytest.approx(_reference_form(z1, z2, s, gamma, 0.5).item(), abs=1e-5)
    assert not torch.allclose(out, info_nce(z1, z2, 0.5))


def test_module_uses_schedule():
    g = torch.Generator().manual_seed(2)
    z1, z2, s = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g), torch.rand(5, generator=g)
    loss = TeamUpLoss(temperature=0.5, t0=10, gamma_max=0.2, batch_size=2)
    assert torch.allclose(loss(z1, z2, s, epoch=60), team_up(z1, z2, s, 0.2, 0.5), atol=1e-6)
    assert str(loss) == 'TeamUpLoss(temperature=0.5, t0=10, gamma_max=0.2, batch_size=2)'


def test_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="'strength'"):
        team_up(z, z, torch.rand(3), 0.1)
    with pytest.raises(ValueError, match="'gamma'"):
        team_up(z, z, torch.rand(4), -0.1)
    with pytest.raises(ValueError, match="'gamma_max'"):
        TeamUpLoss(gamma_max=-1)
