import gzip

import pytest

pytest.importorskip('rdkit')
from graphcl.data.root import data_root  # noqa: E402
from graphcl.molecules.smiles_file import read_smiles_file  # noqa: E402


def _write(path, text, gz=False):
    if gz:
        with gzip.open(path, 'wt') as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize('gz', [False, True])
def test_csv_default_column_and_missing_cells(tmp_path, gz):
    path = _write(tmp_path / ('a.csv.gz' if gz else 'a.csv'), 'id,smiles,y\n1,CCO,0\n2,,1\n3," c1ccccc1 ",0\n', gz)
    assert read_smiles_file(path) == ['CCO', '', 'c1ccccc1']


def test_csv_named_column_and_mol_and_case_insensitive(tmp_path):
    path = _write(tmp_path / 'b.csv', 'mol,Class\nCCN,1\nCCC,0\n')
    assert read_smiles_file(path) == ['CCN', 'CCC']
    path = _write(tmp_path / 'c.csv', 'Name,Smiles\nx,C\ny,N\n')
    assert read_smiles_file(path) == ['C', 'N']
    path = _write(tmp_path / 'd.csv', 'smiles,canon\nC,CC\nN,NN\n')
    assert read_smiles_file(path, column='canon') == ['CC', 'NN']


def test_tsv_with_uppercase_smiles_column(tmp_path):
    path = _write(tmp_path / 'e.tsv', 'SMILES\tlabel\nCCO\t1\nC=O\t0\n')
    assert read_smiles_file(path) == ['CCO', 'C=O']


@pytest.mark.parametrize('suffix', ['.txt', '.smi', '.smi.gz'])
def test_line_files_first_token_no_header(tmp_path, suffix):
    text = 'CCO ethanol\n\nc1ccccc1\tbenzene\n  N  \n'
    path = _write(tmp_path / f'f{suffix}', text, suffix.endswith('.gz'))
    assert read_smiles_file(path) == ['CCO', 'c1ccccc1', 'N']


def test_errors_are_one_line_and_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"SMILES file not found: '.*missing\.csv'"):
        read_smiles_file(tmp_path / 'missing.csv')
    with pytest.raises(ValueError, match=r"ending in \.csv, \.tsv, \.txt or \.smi.*\(got 'x\.json'\)"):
        read_smiles_file(tmp_path / 'x.json')
    with pytest.raises(ValueError, match='is empty'):
        read_smiles_file(_write(tmp_path / 'empty.csv', ''))
    with pytest.raises(ValueError, match='is empty'):
        read_smiles_file(_write(tmp_path / 'empty.txt', '\n  \n'))
    with pytest.raises(ValueError, match='no data rows'):
        read_smiles_file(_write(tmp_path / 'header.csv', 'smiles,y\n'))
    path = _write(tmp_path / 'cols.csv', 'name,structure\na,C\n')
    with pytest.raises(ValueError, match=r"Could not find a SMILES column.*\['name', 'structure'\]") as info:
        read_smiles_file(path)
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match=r"'column'.*\['name', 'structure'\] \(got 'smi'\)"):
        read_smiles_file(path, column='smi')


def test_zinc250k_file():
    path = data_root() / 'zinc' / 'zinc250k.txt.gz'
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    smiles = read_smiles_file(path)
    assert len(smiles) == 249455  # the README's count
    assert len(set(smiles)) == len(smiles)
    assert all(' ' not in s and s for s in smiles[:1000])
