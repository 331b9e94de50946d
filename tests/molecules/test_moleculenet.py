import math
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip('rdkit')
from torch_geometric.data import Batch  # noqa: E402

from graphcl.data.root import data_root  # noqa: E402
from graphcl.molecules.featurize import InvalidSmilesWarning, smiles_to_data  # noqa: E402
from graphcl.molecules.moleculenet import (MOLECULENET_PRESETS, MoleculeDataset, MoleculeNetPreset,  # noqa: E402
                                           _read_labelled_table, load_molecule_dataset)

# name: (data rows in the file, per shared/datasets/README.md; number of tasks; task type)
EXPECTED = {
    'bbbp': (2039, 1, 'classification'), 'bace': (1513, 1, 'classification'),
    'clintox': (1478, 2, 'classification'), 'tox21': (7831, 12, 'classification'),
    'sider': (1427, 27, 'classification'), 'toxcast': (8576, 617, 'classification'),
    'hiv': (41127, 1, 'classification'), 'esol': (1128, 1, 'regression'), 'freesolv': (642, 1, 'regression'),
    'lipophilicity': (4200, 1, 'regression'), 'clintox-deepchem': (1491, 2, 'classification'),
    'sider-deepchem': (1427, 27, 'classification'), 'toxcast-deepchem': (8615, 617, 'classification'),
    'esol-deepchem': (1128, 1, 'regression'), 'freesolv-deepchem': (643, 1, 'regression'),
    'bbbp-kcl': (2050, 1, 'classification'),
}
# Fully featurised in the tests (small files, together a few seconds); the others are checked through their labels.
FULL_LOAD = ['freesolv', 'freesolv-deepchem', 'esol', 'esol-deepchem', 'sider', 'bbbp-kcl', 'clintox-deepchem']


def _preset_file(name):
    path = data_root() / MOLECULENET_PRESETS[name].path
    if not path.is_file():
        pytest.skip(f'{path} is absent')
    return path


def test_a_preset_for_every_moleculenet_file():
    folder = data_root() / 'moleculenet'
    if not folder.is_dir():
        pytest.skip(f'{folder} is absent')
    files = {p.relative_to(data_root()).as_posix() for p in folder.rglob('*') if p.is_file()}
    assert files == {p.path for p in MOLECULENET_PRESETS.values()}
    assert set(MOLECULENET_PRESETS) == set(EXPECTED)


def test_paper_splits():
    # KCL: scaffold for BBBP and BACE, random for the others
    assert {k for k, p in MOLECULENET_PRESETS.items() if p.split == 'scaffold'} == {'bbbp', 'bbbp-kcl', 'bace', 'hiv'}
    with pytest.raises(ValueError, match=r"'task_type'.*\(got 'ranking'\)"):
        MoleculeNetPreset('x.csv', 'smiles', None, 'ranking', 'random')


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_preset_labels(name):
    rows, tasks, task_type = EXPECTED[name]
    preset = MOLECULENET_PRESETS[name]
    path = _preset_file(name)
    label_columns = preset.label_columns
    smiles, labels, label_names = _read_labelled_table(path, preset.smiles_column, label_columns)
    assert len(smiles) == rows and labels.shape == (rows, tasks) and len(label_names) == tasks
    assert preset.task_type == task_type
    present = labels[~np.isnan(labels)]
    if task_type == 'classification':
        assert np.isin(present, (0, 1)).all()
    else:
        assert not np.isin(present, (0, 1)).all()


def test_preset_label_values_spot_checks():
    if not (data_root() / MOLECULENET_PRESETS['tox21'].path).is_file():
        pytest.skip('tox21 absent')
    # tox21.csv row 0: CCOc1ccc2nc(S(N)(=O)=O)sc2c1,0,0,1,,,0,0,1,0,0,0,0
    _, labels, names = _read_labelled_table(_preset_file('tox21'), 'smiles', None)
    assert names[:2] == ['NR-AR', 'NR-AR-LBD'] and names[-1] == 'SR-p53'
    expected = [0, 0, 1, math.nan, math.nan, 0, 0, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(labels[0], np.array(expected, dtype=np.float32))


@pytest.mark.parametrize('name', FULL_LOAD)
def test_preset_loads(name):
    rows, tasks, task_type = EXPECTED[name]
    _preset_file(name)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', InvalidSmilesWarning)
        ds = load_molecule_dataset(name)
    assert isinstance(ds, MoleculeDataset) and ds.name == name
    assert ds.num_tasks == tasks and ds.task_type == task_type
    assert len(ds) + len(ds.invalid) == rows
    assert sorted(ds.rows + [r for r, _ in ds.invalid]) == list(range(rows))
    assert ds[0].y.shape == (1, tasks) and ds[0].y.dtype == torch.float32
    assert ds.y.shape == (len(ds), tasks)
    assert ds.smiles == [g.smiles for g in ds.graphs]
    if name == 'bbbp-kcl':  # DeepChem's BBBP holds 11 SMILES RDKit rejects (hence chemprop's 2039 rows)
        assert len(ds.invalid) == 11
    if name == 'freesolv':  # first data row of freesolv.csv: CN(C)C(=O)c1ccc(cc1)OC,-11.01
        assert ds.smiles[0] == 'CN(C)C(=O)c1ccc(cc1)OC' and ds[0].y.item() == pytest.approx(-11.01)
        assert torch.equal(ds[0].x, smiles_to_data('CN(C)C(=O)c1ccc(cc1)OC').x)
    if name == 'esol-deepchem':  # the SMILES cells end with a space in DeepChem's file
        assert ds.smiles[0] == 'OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O'
        assert ds[0].y.item() == pytest.approx(-0.77)


def test_unknown_name_lists_presets():
    with pytest.raises(ValueError, match=r"preset \['bace', 'bbbp', 'bbbp-kcl'.*\(got 'bbbq'\)"):
        load_molecule_dataset('bbbq')
    with pytest.raises(ValueError, match=r"'task_type'.*\(got 'multiclass'\)"):
        load_molecule_dataset('bbbp', task_type='multiclass')


def test_missing_preset_file_names_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"preset 'bbbp' not found.*GRAPHCL_DATA"):
        load_molecule_dataset('BBBP', root=tmp_path)


CSV = ("id,name,structure,tox,activity,note\n"
       "1,a,CCO,1,0.5,x\n"
       "2,b,C1CC,0,1.5,y\n"        # invalid SMILES
       "3,c,c1ccccc1,,2.5,z\n"     # missing label
       "4,d,CCN,0,,w\n")


def test_user_csv_custom_columns_missing_labels(tmp_path):
    path = tmp_path / 'mine.csv'
    path.write_text(CSV)
    with pytest.warns(InvalidSmilesWarning, match=r"1 of 4 SMILES .* row 1 'C1CC'"):
        ds = load_molecule_dataset(str(path), smiles_column='structure', label_columns=['tox'])
    assert ds.task_type == 'classification' and ds.label_names == ['tox']
    assert ds.rows == [0, 2, 3] and ds.invalid == [(1, 'C1CC')]
    assert ds.smiles == ['CCO', 'c1ccccc1', 'CCN']
    y = ds.y
    assert y[0].tolist() == [1.0] and math.isnan(y[1, 0]) and y[2].tolist() == [0.0]

    with pytest.warns(InvalidSmilesWarning):  # default labels: every numeric column but the SMILES one
        ds = load_molecule_dataset(path, smiles_column='structure')
    assert ds.label_names == ['id', 'tox', 'activity'] and ds.task_type == 'regression' and ds.num_tasks == 3
    torch.testing.assert_close(ds[2].y, torch.tensor([[4.0, 0.0, math.nan]]), equal_nan=True)
    assert ds[1].row == 2


def test_user_csv_errors(tmp_path):
    path = tmp_path / 'mine.csv'
    path.write_text(CSV)
    with pytest.raises(ValueError, match=r"Non-numeric label in column 'note' .* row 0 \(got 'x'\)"):
        load_molecule_dataset(path, smiles_column='structure', label_columns=['tox', 'note'])
    with pytest.raises(ValueError, match=r"unknown \['toxx'\]"):
        load_molecule_dataset(path, smiles_column='structure', label_columns=['toxx'])
    with pytest.raises(ValueError, match=r"Could not find a SMILES column"):
        load_molecule_dataset(path)
    with pytest.raises(ValueError, match=r"binary 0/1 labels .* 'activity'"):
        load_molecule_dataset(path, smiles_column='structure', label_columns=['activity'],
                              task_type='classification')
    with pytest.raises(FileNotFoundError, match='not found'):
        load_molecule_dataset(tmp_path / 'nope.csv')
    bad = tmp_path / 'bad.tsv'
    bad.write_text('smiles\ty\nC\t1\nCC\thigh\n')
    with pytest.raises(ValueError, match=r"column 'y' .* row 1 \(got 'high'\)"):
        load_molecule_dataset(bad, label_columns=['y'])
    allbad = tmp_path / 'allbad.csv'
    allbad.write_text('smiles,y\nC1,1\nQ,0\n')
    with pytest.raises(ValueError, match=r"None of the 2 SMILES in .*allbad\.csv"):
        load_molecule_dataset(allbad)


def test_dataset_indexing_and_batching(tmp_path):
    path = tmp_path / 'reg.csv'
    path.write_text('smiles,a,b\nCCO,0.5,1\nCCN,,2\nc1ccccc1,3,\nCCCl,4,5\n')
    ds = load_molecule_dataset(path)
    assert ds.task_type == 'regression' and ds.num_tasks == 2
    sub = ds[np.array([3, 1])]
    assert isinstance(sub, MoleculeDataset) and sub.smiles == ['CCCl', 'CCN'] and sub.rows == [3, 1]
    assert ds[torch.tensor([True, False, False, True])].rows == [0, 3]
    assert ds[1:3].rows == [1, 2] and ds[torch.tensor(2)].smiles == 'c1ccccc1'
    batch = Batch.from_data_list(list(ds))
    assert batch.y.shape == (4, 2) and batch.num_graphs == 4 and batch.row.tolist() == [0, 1, 2, 3]
    assert repr(ds).startswith(f"MoleculeDataset({path}, molecules=4, tasks=2, task_type='regression'")
