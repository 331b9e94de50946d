import pytest
import torch
import torch.nn.functional as F

from graphcl.augment import CommunalAttributeVoting, CommunalEdgeDropping
from graphcl.data import csbm
from graphcl.losses import info_nce
from graphcl.methods import GRACE, get_method, resolve_config
from graphcl.methods.csgcl import CSGCL

# graph.md / the authors' param/*.json: lr, hidden, proj, act, CED p1/p2, CAV p1/p2, tau, epochs, t0, gamma_max
PUBLISHED = {
    'WikiCS': (0.01, 256, 256, 'prelu', 0.2, 0.7, 0.1, 0.2, 0.6, 2000, 1000, 10),
    'Computers': (0.005, 512, 128, 'prelu', 0.6, 0.7, 0.1, 0.1, 0.2, 2500, 2000, 5),
    'Photo': (0.1, 256, 64, 'relu', 0.5, 0.7, 0.1, 0.1, 0.3, 3000, 2000, 1),
    'CS': (5e-4, 256, 256, 'rrelu', 0.1, 0.1, 0.1, 0.5, 0.4, 4600, 1500, 1),
}
KEYS = ('lr', 'num_hidden', 'num_proj_hidden', 'activation', 'drop_edge_rate_1', 'drop_edge_rate_2',
        'drop_feature_rate_1', 'drop_feature_rate_2', 'tau', 'epochs', 't0', 'gamma_max')


def _config(**over):
    base = dict(epochs=4, num_hidden=16, num_proj_hidden=16, t0=2, gamma_max=1.0, seed=0)
    base.update(over)
    return resolve_config(CSGCL, 'synthetic', overrides=base)


@pytest.fixture(scope='module')
def data():
    return csbm(num_nodes=120, num_blocks=3, num_features=16, p_in=0.15, p_out=0.01, seed=0)


def test_registered_subclass_of_grace():
    assert get_method('csgcl') is CSGCL and get_method('CSGCL') is CSGCL
    assert issubclass(CSGCL, GRACE)


@pytest.mark.parametrize('dataset', list(PUBLISHED))
def test_published_presets(dataset):
    config = resolve_config(CSGCL, dataset)
    assert tuple(config[k] for k in KEYS) == PUBLISHED[dataset]
    assert config['weight_decay'] == 1e-5 and config['drop_edge_thresh'] == 1.0
    assert config['drop_feature_thresh'] == 1.0 and config['num_layers'] == 2
    assert config['normalize_features'] is True  # the authors' get_dataset: T.NormalizeFeatures()
    assert config['eval_epochs'] == 3000  # the authors' log_regression: 3000 epochs of logistic regression


def test_tuned_presets_exist():
    for name in ('Cora', 'CiteSeer', 'PubMed'):
        config = resolve_config(CSGCL, name)
        assert config['preset'] == name and 0 <= config['t0'] < config['epochs']


def test_views_and_loss_are_community_aware(data):
    m = CSGCL(data, _config())
    assert isinstance(m.views[0][0], CommunalEdgeDropping) and isinstance(m.views[1][1], CommunalAttributeVoting)
    assert m.communities.node_strength.shape == (data.num_nodes,)
    assert m.communities.modularity > 0.3  # planted blocks
    v = m.view(0)
    assert v.edge_index.size(1) <= data.edge_index.size(1) and v.x.shape == data.x.shape


def test_team_up_is_info_nce_before_t0(data):
    m = CSGCL(data, _config(t0=10))
    state = m.generator.get_state()
    loss = m.training_step(epoch=5)
    m.generator.set_state(state)
    u, v = m.project(m.view(0)), m.project(m.view(1))
    assert torch.allclose(loss, info_nce(u, v, m.config['tau']), atol=1e-6)
    m.generator.set_state(state)
    later = m.training_step(epoch=60)  # gamma = 0.5: the strengths now shift the similarities
    assert not torch.allclose(later, loss)


def _reference_team_up(h1, h2, cs, gamma, tau):
    """The reference's ``CSGCL._team_up``, both directions averaged: dense exp((cos + gamma (S_i + S_j)) / tau)."""
    def one(a, b):
        a, b = F.normalize(a.double(), dim=1), F.normalize(b.double(), dim=1)
        shift = gamma * cs.double() + gamma * cs.double().unsqueeze(1)
        refl, between = torch.exp((a @ a.t() + shift) / tau), torch.exp((a @ b.t() + shift) / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))
    return (0.5 * (one(h1, h2) + one(h2, h1))).mean()


@pytest.mark.parametrize('epoch,gamma', [(60, 0.5), (400, 2.0)])  # on the ramp (t0 10); capped at gamma_max 2
def test_training_step_is_the_references_team_up_loss(data, epoch, gamma):
    m = CSGCL(data, _config(t0=10, gamma_max=2.0, tau=0.5))
    state = m.generator.get_state()
    loss = m.training_step(epoch=epoch)
    m.generator.set_state(state)  # the same two views again
    with torch.no_grad():
        h1, h2 = m.project(m.view(0)), m.project(m.view(1))
    # the community strengths that enter are each node's community's share of the modularity
    strength = m.communities.node_strength
    labels = m.communities.labels
    src, dst = data.edge_index
    two_m = data.edge_index.size(1)  # both directions stored: 2|E|
    for c in labels.unique():  # S_c = E_in(c)/|E| - (deg(c)/2|E|)^2
        share = ((labels[src] == c) & (labels[dst] == c)).sum() / two_m - ((labels[src] == c).sum() / two_m) ** 2
        assert torch.allclose(strength[labels == c], share.float(), atol=1e-6)
    assert loss.item() == pytest.approx(_reference_team_up(h1, h2, strength, gamma, 0.5).item(), abs=1e-5)


def test_views_drop_whole_attributes_and_keep_edges_undirected(data):
    m = CSGCL(data, _config(drop_edge_rate_1=0.5, drop_feature_rate_1=0.5))
    v = m.view(0)
    x = v.x.to_dense() if v.x.layout != torch.strided else v.x
    kept, zeroed = (x == m.data.x).all(0), (x == 0).all(0)
    assert bool((kept | zeroed).all()) and kept.any() and zeroed.any()  # CAV: whole columns, some of each
    edges = set(map(tuple, v.edge_index.t().tolist()))
    assert edges < set(map(tuple, data.edge_index.t().tolist()))  # CED only removes edges, here some
    assert all((j, i) in edges for i, j in edges)  # undirected_drop: both directions go together


def test_trains_deterministically_and_resumes(data):
    a = CSGCL(data, _config())
    losses_a = [a.train_epoch(e) for e in range(1, 5)]
    b = CSGCL(data, _config())
    losses_b = [b.train_epoch(e) for e in range(1, 3)]
    state = b.state_dict()
    c = CSGCL(data, _config())
    c.load_state_dict(state)
    losses_c = [c.train_epoch(e) for e in range(3, 5)]
    assert losses_a[:2] == losses_b and losses_a[2:] == pytest.approx(losses_c, abs=1e-6)
    assert all(torch.isfinite(torch.tensor(losses_a)))
    z = a.embed()
    assert z.shape == (data.num_nodes, 16)


def test_louvain_option(data):
    m = CSGCL(data, _config(community_method='louvain'))
    assert m.communities.num_communities >= 2


@pytest.mark.parametrize('method', [GRACE, CSGCL])
def test_features_row_normalised_like_the_authors_loaders(data, method):
    raw = data.x.clone()
    assert resolve_config(method, 'PubMed')['normalize_features'] is True  # the authors' dataset: their loader's
    assert resolve_config(method, 'synthetic')['normalize_features'] is False  # default: features as loaded
    m = method(data, resolve_config(method, 'synthetic', overrides=dict(num_hidden=16, num_proj_hidden=16,
                                                                        normalize_features=True)))
    shifted = raw - raw.min()  # PyG's NormalizeFeatures: shift to >= 0, then rows sum to 1 (sums below 1 kept)
    expected = shifted / shifted.sum(dim=1, keepdim=True).clamp(min=1)
    assert torch.allclose(m.data.x, expected, atol=1e-6)
    assert torch.equal(data.x, raw)  # the caller's Data is not modified
    plain = method(data, resolve_config(method, 'synthetic', overrides=dict(num_hidden=16, num_proj_hidden=16)))
    assert torch.equal(plain.data.x, raw)
