import warnings

import pytest
import torch

pytest.importorskip('rdkit')
from rdkit import rdBase  # noqa: E402
from torch_geometric.utils import from_smiles  # noqa: E402
from torch_geometric.utils.smiles import e_map, x_map  # noqa: E402

from graphcl.molecules.featurize import (ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES, InvalidSmilesWarning,  # noqa: E402
                                         featurize_smiles, smiles_to_data)

VALID = ['CCO', 'c1ccccc1O', 'C[C@H](N)C(=O)O', 'F/C=C/F', '[NH4+]', 'O=C([O-])c1ccccc1', '[Na+].[Cl-]',
         'CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1', '*C(=O)O', 'C#N']


def _pyg_from_smiles(smiles):
    # PyG's from_smiles switches RDKit logging off for the whole process; BlockLogs restores the previous state.
    with rdBase.BlockLogs():
        return from_smiles(smiles)


def test_feature_sizes_follow_pyg_maps():
    assert ATOM_FEATURE_SIZES == (119, 9, 11, 12, 9, 5, 8, 2, 2)
    assert ATOM_FEATURE_SIZES == tuple(len(v) for v in x_map.values())
    assert BOND_FEATURE_SIZES == tuple(len(v) for v in e_map.values()) == (22, 6, 2)


@pytest.mark.parametrize('smiles', VALID)
def test_smiles_to_data_equals_pyg_from_smiles(smiles):
    ours, ref = smiles_to_data(smiles), _pyg_from_smiles(smiles)
    assert ours.x.dtype == torch.long and ours.edge_attr.dtype == torch.long
    assert torch.equal(ours.x, ref.x)
    assert torch.equal(ours.edge_index, ref.edge_index)
    assert torch.equal(ours.edge_attr, ref.edge_attr)
    assert ours.smiles == smiles


def test_smiles_to_data_hand_computed_ethanol():
    data = smiles_to_data('  CCO ')
    assert data.smiles == 'CCO'
    assert data.x[:, 0].tolist() == [6, 6, 8]  # column 0 is the atomic number
    assert data.x[:, 2].tolist() == [4, 4, 2]  # total degree (with implicit H): CH3, CH2, OH
    assert data.x[:, 4].tolist() == [3, 2, 1]  # number of H
    assert data.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert data.edge_attr[:, 0].tolist() == [1, 1, 1, 1]  # SINGLE
    assert data.x.size() == (3, 9) and data.edge_attr.size() == (4, 3)


@pytest.mark.parametrize('bad', ['', '   ', 'C1CC', 'not a smiles', 'C(C', 'c1cccc1', None, float('nan')])
def test_smiles_to_data_invalid_returns_none(bad):
    assert smiles_to_data(bad) is None


def test_smiles_to_data_unencodable_is_none():
    assert smiles_to_data('[H]').x[:, 0].tolist() == [1]  # a lone hydrogen atom is a valid one-atom molecule
    # RDKit parses this, but the uranium atom has degree 11 and PyG's x_map stops at 10: from_rdmol cannot encode it
    assert smiles_to_data('F[U](F)(F)(F)(F)(F)(F)(F)(F)(F)F') is None
    assert smiles_to_data('F[U](F)(F)(F)(F)(F)(F)(F)(F)F').x[1, 2].item() == 10


def test_featurize_smiles_counts_and_reports_invalid_rows():
    smiles = ['CCO', 'C1CC', 'c1ccccc1', 'xyz', 'N', '', 'C(', 'O', 'Q', 'P(']
    with pytest.warns(InvalidSmilesWarning) as record:
        out = featurize_smiles(smiles, source='my.csv', max_report=3)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith('6 of 10 SMILES in my.csv could not be featurised')
    assert "row 1 'C1CC', row 3 'xyz', row 5 ''" in message and '... and 3 more' in message
    assert 'row 6' not in message
    assert out.valid_rows == [0, 2, 4, 7]
    assert [g.row for g in out.graphs] == [0, 2, 4, 7]
    assert [g.smiles for g in out.graphs] == ['CCO', 'c1ccccc1', 'N', 'O']
    assert out.invalid == [(1, 'C1CC'), (3, 'xyz'), (5, ''), (6, 'C('), (8, 'Q'), (9, 'P(')]
    assert len(out) == 4


def test_featurize_smiles_all_valid_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = featurize_smiles(['CCO', 'CC'])
    assert out.invalid == [] and out.valid_rows == [0, 1]


def test_featurize_smiles_all_invalid_raises_naming_source():
    with pytest.raises(ValueError, match=r"None of the 2 SMILES in data/x\.csv could be featurised.*row 0 'C1'"):
        featurize_smiles(['C1', 'Q'], source='data/x.csv')
    with pytest.raises(ValueError, match='empty'):
        featurize_smiles([], source='nothing')
    with pytest.raises(TypeError, match='not one string'):
        featurize_smiles('CCO')
    with pytest.raises(ValueError, match=r"'max_report'.*\(got -1\)"):
        featurize_smiles(['C'], max_report=-1)


def test_rdkit_logging_is_restored():
    before = rdBase.LogStatus()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        featurize_smiles(['C1CC', 'CCO'])
    smiles_to_data('C1CC')
    assert rdBase.LogStatus() == before


def test_rdkit_error_spew_is_silenced(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        featurize_smiles(['C1CC', 'c1cccc1', 'CCO'])
    assert capfd.readouterr().err == ''
