import pytest

from graphcl.methods import GRACE, resolve_config

# The GCA authors' param/*.json (github CRIPAC-DIG/GCA), run as GRACE with `--drop_scheme uniform`:
# lr, hidden, proj, act, edge p1/p2, feature p1/p2, tau, epochs
GCA_PARAMS = {
    'WikiCS': (0.01, 256, 256, 'prelu', 0.2, 0.3, 0.1, 0.1, 0.4, 3000),
    'Computers': (0.01, 128, 128, 'rrelu', 0.6, 0.3, 0.2, 0.3, 0.2, 2000),
    'Photo': (0.1, 256, 64, 'relu', 0.3, 0.5, 0.1, 0.1, 0.3, 2000),
    'CS': (5e-4, 256, 256, 'rrelu', 0.3, 0.2, 0.3, 0.4, 0.4, 1000),
}
KEYS = ('lr', 'num_hidden', 'num_proj_hidden', 'activation', 'drop_edge_rate_1', 'drop_edge_rate_2',
        'drop_feature_rate_1', 'drop_feature_rate_2', 'tau', 'epochs')


@pytest.mark.parametrize('dataset', list(GCA_PARAMS))
def test_presets_of_the_csgcl_datasets_are_gcas(dataset):
    config = resolve_config(GRACE, dataset)
    assert config['preset'] == dataset
    assert tuple(config[k] for k in KEYS) == GCA_PARAMS[dataset]
    assert config['weight_decay'] == 1e-5 and config['num_layers'] == 2
    assert config['normalize_features'] is True  # GCA's get_dataset: T.NormalizeFeatures()
    assert config['eval_epochs'] == 3000  # GCA's log_regression on random splits
