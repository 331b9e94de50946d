import pytest
from recbole.data import create_dataset
from recbole.model.sequential_recommender import SASRec

import recsys
from recsys.config import build_config, check_config, read_yaml, train_stride
from recsys.pipeline import load_data

from recsys_testing import write_inter


def test_data_path_is_honoured_for_ml100k(tmp_path):
    # RecBole points 'ml-100k' at its shipped copy whatever data_path says: a user's own files were replaced by it
    write_inter(tmp_path / 'ml-100k', 'ml-100k', users=30)
    own = tmp_path / 'own.yaml'
    own.write_text(f'data_path: {tmp_path}\n')
    for config in (build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu'}, [own]),
                   build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu', 'data_path': str(tmp_path)})):
        assert config['data_path'] == str(tmp_path / 'ml-100k')
        dataset = create_dataset(config)
        assert dataset.user_num - 1 == 30 and dataset.inter_num == 240
        assert set(dataset.id2token('user_id', [1, 2])) <= {f'u{k}' for k in range(1, 31)}
    # without data_path: the shipped ml-100k, as before
    assert create_dataset(build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu'})).user_num - 1 == 943


def test_own_dataset_any_name_both_layouts(tmp_path):
    write_inter(tmp_path / 'shop', 'shop', users=12)  # RecBole's layout: <data_path>/<name>/<name>.inter
    write_inter(tmp_path, 'flat', users=7)  # or directly in data_path
    for name, users in (('shop', 12), ('flat', 7)):
        config = build_config(recsys.SASRecBackbone, name, {'device': 'cpu', 'data_path': str(tmp_path)})
        assert config['dataset'] == name and create_dataset(config).user_num - 1 == users


def test_own_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^data_path folder not found: '.*nowhere'$"):
        build_config(recsys.SASRecBackbone, 'shop', {'data_path': str(tmp_path / 'nowhere')})
    with pytest.raises(FileNotFoundError, match=r"^'shop.inter' not found in '.*shop' nor in '.*'"):
        build_config(recsys.SASRecBackbone, 'shop', {'data_path': str(tmp_path)})
    (tmp_path / 'bare').mkdir()
    (tmp_path / 'bare' / 'bare.inter').write_text('user_id:token\titem_id:token\nu1\ti1\n')
    with pytest.raises(ValueError, match=r"bare.inter' has no column 'timestamp' .*timestamp:float column"):
        build_config(recsys.SASRecBackbone, 'bare', {'data_path': str(tmp_path)})
    with pytest.raises(ValueError, match='without path separators'):
        build_config(recsys.SASRecBackbone, '../x', {'data_path': str(tmp_path)})
    with pytest.raises(ValueError, match=r"Unknown dataset 'shop'\. Valid datasets: .*--data-path DIR"):
        build_config(recsys.SASRecBackbone, 'shop')


def test_broken_yaml_is_one_line(tmp_path):
    broken = tmp_path / 'broken.yaml'
    broken.write_text('epochs: 3\nlearning_rate: [0.1\n')
    with pytest.raises(ValueError) as info:
        build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu'}, [broken])
    message = str(info.value)
    assert '\n' not in message and message.startswith(f"config file '{broken}' is not valid YAML: ")
    assert 'line 3, column 1' in message
    listing = tmp_path / 'list.yaml'
    listing.write_text('- epochs\n- 3\n')
    with pytest.raises(ValueError, match=r"must be a mapping of 'key: value' lines \(got a list\)"):
        build_config(recsys.SASRecBackbone, 'ml-100k', {}, [listing])
    (tmp_path / 'empty.yaml').write_text('')
    assert read_yaml(tmp_path / 'empty.yaml') == {}


@pytest.mark.parametrize('value', [-1, 1.5, 'abc'])
def test_epochs_must_be_a_whole_number(value):
    with pytest.raises(ValueError, match=rf"^Expected 'epochs' to be an integer >= 0 \(got {value!r}\)$"):
        build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu', 'epochs': value})


def test_recbole_sasrec_refuses_train_stride(tiny):
    # RecBole's SASRec takes its loss at the last position: with strided samples it silently trained on ~1/s of
    # the targets
    with pytest.raises(ValueError, match=r"^'train_stride' > 1 needs a recsys model .*SASRec takes its loss at the "
                                         r"last position only and would train on about 1/5 of the targets"):
        build_config(SASRec, 'ml-100k', dict(tiny, train_stride=5))
    config = build_config(SASRec, 'ml-100k', tiny)
    config['train_stride'] = 5  # a config not made by build_config: load_data checks it too
    with pytest.raises(ValueError, match="needs a recsys model"):
        load_data(config)
    check_config(build_config(recsys.CL4SRec, 'ml-100k', dict(tiny, train_stride=5)))  # our models: fine
    assert train_stride(build_config(SASRec, 'ml-100k', dict(tiny, train_stride=1))) == 1


def test_valid_metric_must_be_computed():
    # RecBole raised a KeyError after the first epoch
    with pytest.raises(ValueError, match=r"^Expected 'valid_metric' to be one of the computed metrics \(got "
                                         r"'NDCG@50' with metrics \['Hit', 'NDCG', 'MRR', 'Recall'\] and topk "
                                         r"\[5, 10, 20\]\)$"):
        build_config(recsys.SASRecBackbone, 'ml-100k', {'device': 'cpu', 'valid_metric': 'NDCG@50'})
