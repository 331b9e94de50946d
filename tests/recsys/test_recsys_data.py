import json
import os

import pytest

from recsys.data import (DATASETS, INTER_HEADER, SeqrecFormatError, SeqrecFormatWarning, atomic_dataset_dir,
                         check_inter_header, convert_seqrec, data_root, dataset_config, resolve_dataset)


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


def _lines(n, bad=()):
    """``n`` well-formed lines (users 1..n), with line numbers in ``bad`` replaced by the given text."""
    bad = dict(bad)
    return ''.join((bad[k] if k in bad else f'{k} {100 + k} {200 + k}') + '\n' for k in range(1, n + 1))


def test_malformed_lines_are_skipped_and_reported_with_line_numbers(tmp_path):
    # before: 'x7' became an item, '3' alone and the repeated user were dropped or merged, all silently
    src = _write_source(tmp_path / 'root', _lines(300, {4: '4 104 x7', 9: '9', 12: '1 555 556'}))
    with pytest.warns(SeqrecFormatWarning) as record:
        inter = convert_seqrec(src, tmp_path / 'cache')
    assert len(record) == 1
    message = str(record[0].message)
    assert message == (f"{src}: 3 of 300 lines malformed (1.00%), skipped: line 4: 'x7' is not a non-negative "
                       f"integer; line 9: user 9 has no items; line 12: user 1 already on line 1")
    rows = inter.read_text().splitlines()[1:]
    assert len(rows) == 2 * 297 and not any('x7' in r or r.startswith(('4\t', '9\t', '12\t')) for r in rows)
    assert [r for r in rows if r.startswith('1\t')] == ['1\t101\t0', '1\t201\t1']
    with pytest.warns(SeqrecFormatWarning, match='line 4: .x7.'):  # reported again when the cache is used
        assert convert_seqrec(src, tmp_path / 'cache') == inter


def test_malformed_lines_past_the_threshold_or_in_strict_mode_fail(tmp_path):
    many = _write_source(tmp_path / 'root', _lines(100, {k: f'{k} 1,2,3' for k in range(10, 18)}))
    with pytest.raises(SeqrecFormatError, match=r"8 of 100 lines malformed \(8\.00%\), more than the 1\.00% allowed "
                                                r"\(seqrec_max_malformed\): line 10: '1,2,3' is not a non-negative "
                                                r"integer; .* line 14: .*; and 3 more$"):
        convert_seqrec(many, tmp_path / 'cache')
    assert not (tmp_path / 'cache' / 'Beauty').exists()  # nothing written
    with pytest.warns(SeqrecFormatWarning, match='8 of 100'):
        convert_seqrec(many, tmp_path / 'cache', max_malformed=0.1)
    with pytest.raises(SeqrecFormatError, match=r"8 of 100 lines malformed \(8\.00%\), strict mode allows none"):
        convert_seqrec(many, tmp_path / 'cache', strict=True, max_malformed=0.1)  # also from the cache
    one = _write_source(tmp_path / 'other', _lines(200, {5: '5 7 -3'}))
    with pytest.raises(SeqrecFormatError, match=r"1 of 200 lines malformed .* strict mode allows none: line 5: "
                                                r"'-3' is not"):
        convert_seqrec(one, tmp_path / 'cache2', strict=True)
    with pytest.raises(ValueError, match=r"'max_malformed' to be a number in \[0, 1\] \(got 5\)"):
        convert_seqrec(one, tmp_path / 'cache2', max_malformed=5)


def test_strict_mode_from_the_config(tmp_path, monkeypatch):
    import recsys
    from recsys.config import build_config
    _write_source(tmp_path / 'root', _lines(300, {4: '4 104 x7'}))
    monkeypatch.setenv('GRAPHCL_DATA', str(tmp_path / 'root'))
    monkeypatch.setenv('RECSYS_CACHE', str(tmp_path / 'cache'))
    strict = tmp_path / 'strict.yaml'
    strict.write_text('seqrec_strict: True\n')
    with pytest.raises(SeqrecFormatError, match='strict mode allows none: line 4'):
        build_config(recsys.SASRecBackbone, 'Beauty', {'device': 'cpu'}, [strict])
    with pytest.warns(SeqrecFormatWarning, match='line 4'):
        config = build_config(recsys.SASRecBackbone, 'Beauty', {'device': 'cpu'})
    assert config['data_path'] == str(tmp_path / 'cache' / 'Beauty')


def test_atomic_dataset_dir_and_header(tmp_path):
    from recsys_testing import write_inter
    write_inter(tmp_path / 'a', 'a')
    write_inter(tmp_path, 'b')
    assert atomic_dataset_dir('a', tmp_path) == tmp_path / 'a' and atomic_dataset_dir('b', tmp_path) == tmp_path
    check_inter_header(tmp_path / 'b.inter', ['user_id', 'item_id', 'timestamp'])
    with pytest.raises(ValueError, match=r"has no column 'rating' \(header columns: user_id:token, item_id:token, "
                                         r"timestamp:float\)$"):
        check_inter_header(tmp_path / 'b.inter', ['user_id', 'rating'])
    (tmp_path / 'c.inter').write_text('user_id:token,item_id:token\n')
    with pytest.raises(ValueError, match=r"no column 'item_id' \(header columns: user_id:token,item_id:token; columns "
                                         r"are separated by tabs\)"):
        check_inter_header(tmp_path / 'c.inter', ['user_id', 'item_id'])
    with pytest.raises(FileNotFoundError, match=r"^'d.inter' not found in"):
        atomic_dataset_dir('d', tmp_path)
