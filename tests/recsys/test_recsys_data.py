import json
import os

import pytest

from recsys.data import (DATASETS, INTER_HEADER, convert_seqrec, data_root, dataset_config, resolve_dataset)


def _write_source(folder, text):
    (folder / 'seqrec').mkdir(parents=True, exist_ok=True)
    path = folder / 'seqrec' / 'Beauty.txt'
    path.write_text(text)
    return path


def test_convert_writes_atomic_file_with_positions(tmp_path):
    src = _write_source(tmp_path / 'root', '1 10 11 12\n2 11\n\n3 12 10\n')
    inter = convert_seqrec(src, tmp_path / 'cache')
    assert inter == tmp_path / 'cache' / 'Beauty' / 'Beauty.inter'
    lines = inter.read_text().splitlines()
    assert lines[0] == INTER_HEADER == 'user_id:token\titem_id:token\ttimestamp:float'
    assert lines[1:] == ['1\t10\t0', '1\t11\t1', '1\t12\t2', '2\t11\t0', '3\t12\t0', '3\t10\t1']
    stamp = json.loads((inter.parent / 'Beauty.source.json').read_text())
    assert stamp['users'] == 3 and stamp['interactions'] == 6
    assert sorted(p.name for p in inter.parent.iterdir()) == ['Beauty.inter', 'Beauty.source.json']  # no temp files
    umask = os.umask(0)
    os.umask(umask)
    assert inter.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_convert_is_cached_and_rebuilt_when_the_source_changes(tmp_path):
    src = _write_source(tmp_path / 'root', '1 10 11\n')
    inter = convert_seqrec(src, tmp_path / 'cache')
    os.utime(inter, (1, 1))
    convert_seqrec(src, tmp_path / 'cache')
    assert os.stat(inter).st_mtime == 1  # untouched
    src.write_text('1 10 11\n2 12 13\n')
    convert_seqrec(src, tmp_path / 'cache')
    assert len(inter.read_text().splitlines()) == 5
    os.utime(inter, (1, 1))
    convert_seqrec(src, tmp_path / 'cache', force=True)
    assert os.stat(inter).st_mtime != 1


def test_dataset_config_leaves_the_root_untouched_and_recbole_reads_it(tmp_path):
    import recsys
    from recbole.data import create_dataset
    from recsys.config import build_config
    root = tmp_path / 'root'
    src = _write_source(root, ''.join(f'{u} ' + ' '.join(str(100 + (u * 7 + t) % 13) for t in range(6)) + '\n'
                                      for u in range(1, 9)))
    before = {p: p.stat().st_mtime for p in root.rglob('*')}
    entries = dataset_config('beauty', root=root, cache=tmp_path / 'cache')
    assert entries['dataset'] == 'Beauty' and entries['data_path'] == str(tmp_path / 'cache')
    assert {p: p.stat().st_mtime for p in root.rglob('*')} == before
    config = build_config(recsys.SASRecBackbone, 'Beauty', {'device': 'cpu', 'MAX_ITEM_LIST_LENGTH': 5},
                          data=entries)
    dataset = create_dataset(config)
    assert dataset.user_num - 1 == 8 and dataset.item_num - 1 == 13
    assert src.read_text().count('\n') == 8


def test_dataset_names_and_errors(tmp_path, monkeypatch):
    assert DATASETS == ('ml-100k', 'Beauty', 'Sports_and_Outdoors', 'Toys_and_Games', 'Yelp')
    assert resolve_dataset('sports') == 'Sports_and_Outdoors' and resolve_dataset('YELP') == 'Yelp'
    with pytest.raises(ValueError, match="Unknown dataset 'Books'. Valid datasets: ml-100k, Beauty"):
        resolve_dataset('Books')
    with pytest.raises(FileNotFoundError, match='GRAPHCL_DATA'):
        dataset_config('Yelp', root=tmp_path, cache=tmp_path / 'cache')
    monkeypatch.setenv('GRAPHCL_DATA', str(tmp_path))
    assert data_root() == tmp_path
    assert dataset_config('ml-100k') == {'dataset': 'ml-100k', 'load_col': {'inter': ['user_id', 'item_id',
                                                                                    'timestamp']}}
