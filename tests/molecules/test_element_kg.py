import numpy as np
import pytest
import torch

from graphcl.data.root import data_root
from graphcl.molecules.element_kg import (MISSING_RELATIONS, NUM_ELEMENTS, RELATION_SPECS, ElementKG,
                                          build_element_kg, compare_with_reference, element_attribute_table,
                                          element_properties, format_kg_statistics, load_reference_triples)

REFERENCE = data_root() / 'elementkg' / 'triples.txt'
needs_reference = pytest.mark.skipif(not REFERENCE.is_file(), reason='KCL triples.txt not found under $GRAPHCL_DATA')


@pytest.fixture(scope='module')
def kg() -> ElementKG:
    return build_element_kg()


def _attrs(kg, symbol):
    """{relation name: attribute name} of one element, read from the triples."""
    e = kg.entities.index(symbol)
    return {kg.relations[r]: kg.entities[h] for h, r, t in kg.triples.tolist() if t == e}


def test_layout(kg):
    assert kg is build_element_kg()  # cached
    assert kg.num_elements == 118
    assert kg.entities[:3] == ['H', 'He', 'Li'] and kg.entities[5] == 'C' and kg.entities[117] == 'Og'
    assert kg.relations == [s.name for s in RELATION_SPECS] and kg.num_relations == 15
    assert set(MISSING_RELATIONS).isdisjoint(kg.relations)
    assert len(set(kg.entities)) == kg.num_entities
    h, r, t = kg.triples.t()
    assert kg.triples.dtype == torch.long and kg.triples.shape == (kg.num_triples, 3)
    assert (h >= 118).all() and (h < kg.num_entities).all() and (t < 118).all() and (t >= 0).all()
    assert ((r >= 0) & (r < kg.num_relations)).all()
    # every attribute node is used by exactly one relation and has at least one element
    pairs = set(zip(h.tolist(), r.tolist()))
    assert len({a for a, _ in pairs}) == len(pairs) == kg.num_entities - 118
    assert repr(kg) == f'ElementKG(num_entities={kg.num_entities}, num_relations=15, num_triples={kg.num_triples})'


def test_categorical_relations(kg):
    c, o, ce, cl, hg, br = (_attrs(kg, s) for s in ('C', 'O', 'Ce', 'Cl', 'Hg', 'Br'))
    assert c['isPeriodOf'] == o['isPeriodOf'] == 'Period2'
    assert c['isfamilyof'] == 'Family14' and o['isfamilyof'] == 'Family16'
    assert ce['isfamilyof'] == 'Family3' and ce['isMetallicityOf'] == 'Lanthanoids'  # f-block -> Family3 (KCL)
    assert cl['isMetallicityOf'] == 'ReactiveNonmetals'  # mendeleev 'Halogens' merged as in KCL
    assert c['isStateOf'] == 'Solid'  # carbon sublimes: sublimation temperature as melting point
    assert o['isStateOf'] == 'Gas' and hg['isStateOf'] == br['isStateOf'] == 'Liquid'
    states = {kg.entities[t] for h, r, t in kg.triples.tolist() if kg.entities[h] == 'Liquid'}
    assert states == {'Hg', 'Br'}
    family = [h for h, r, t in kg.triples.tolist() if kg.relations[r] == 'isfamilyof']
    assert len(family) == 118  # every element has a family


def test_hand_computed_bins(kg):
    # Pauling electronegativity: 5 equal-width bins over [0.70 (Fr), 3.98 (F)], width 0.656
    # H 2.20 -> 3, C 2.55 -> 3, N 3.04 -> 4, O 3.44 -> 5, F 3.98 -> 5, Fr 0.70 -> 1
    expected = {'H': 3, 'C': 3, 'N': 4, 'O': 5, 'F': 5, 'Fr': 1}
    for symbol, b in expected.items():
        assert _attrs(kg, symbol)['isElectronegativityOf'] == f'Electronegativity{b}', symbol
    # atomic weight: H is the lightest (bin 1), Og the heaviest (bin 9)
    assert _attrs(kg, 'H')['isWeightOf'] == 'Weight1' and _attrs(kg, 'Og')['isWeightOf'] == 'Weight9'
    # He has no Pauling electronegativity: no triple for that relation
    assert 'isElectronegativityOf' not in _attrs(kg, 'He')


def test_bins_monotone_in_property(kg):
    props = element_properties()
    for r, spec in enumerate(RELATION_SPECS):
        if not spec.bins:
            continue
        value = np.full(NUM_ELEMENTS, np.nan)
        label = np.zeros(NUM_ELEMENTS, dtype=int)
        for h, rel, t in kg.triples.tolist():
            if rel == r:
                label[t] = int(kg.entities[h][len(spec.prefix):])
                value[t] = props[spec.name][t]
        has = label > 0
        assert np.array_equal(has, np.isfinite(props[spec.name])), spec.name  # no value <=> no triple
        order = np.argsort(value[has], kind='stable')
        assert np.all(np.diff(label[has][order]) >= 0), spec.name
        assert label[has].min() == 1 and label[has].max() == spec.bins, spec.name


def test_attribute_table(kg):
    table = element_attribute_table(kg)
    assert table.entity.shape == table.relation.shape == table.mask.shape == (119, 15)
    assert (table.entity[0] == -1).all() and not table.mask[0].any()  # dummy atom '*'
    period = kg.relations.index('isPeriodOf')
    assert kg.entities[table.entity[6, period]] == 'Period2' and table.relation[6, period] == period
    h, r, t = kg.triples.t()
    assert torch.equal(table.entity[t + 1, r], h)
    assert int(table.mask.sum()) == kg.num_triples
    assert torch.equal(table.relation[table.mask], torch.arange(15).expand(119, -1)[table.mask])

    bad = ElementKG(['H'] * 118 + ['A', 'B'], ['rel'], torch.tensor([[118, 0, 0], [119, 0, 0]]))
    with pytest.raises(ValueError, match='at most one attribute'):
        element_attribute_table(bad)


def test_reference_aliases_and_overlap(kg, tmp_path):
    path = tmp_path / 'triples.txt'
    path.write_text('Period2 isPeriodOf  C\nMeltingPonint1 isMeltingPointOf  Hg\nMralloids isMetallicityOf  B\n'
                    'Period3 isPeriodOf  C\nHardness1 isHardnessOf  Na\nPeriod2 isPeriodOf  C\n')
    assert load_reference_triples(path)[1] == ('MeltingPonint1', 'isMeltingPointOf', 'Hg')
    out = compare_with_reference(kg, path)
    assert out['reference']['lines'] == 6 and out['reference']['triples'] == 5
    assert out['shared_triples'] == 3  # Period2-C, MeltingPoint1-Hg, Metalloids-B; Period3-C is wrong
    assert out['per_relation']['isPeriodOf'] == {'ours': 118, 'reference': 2, 'shared': 1}
    assert out['per_relation']['isHardnessOf'] == {'ours': 0, 'reference': 1, 'shared': 0}
    assert out['only_reference_relations'] == ['isHardnessOf']
    with pytest.raises(FileNotFoundError, match="'path'"):
        load_reference_triples(tmp_path / 'missing.txt')
    (tmp_path / 'bad.txt').write_text('Period2 isPeriodOf\n')
    with pytest.raises(ValueError, match='3 fields.*line 1'):
        load_reference_triples(tmp_path / 'bad.txt')


@needs_reference
def test_compare_with_kcl(kg):
    out = compare_with_reference(kg, REFERENCE)
    ref = out['reference']
    assert (ref['entities'], ref['relations'], ref['lines'], ref['triples']) == (225, 17, 1643, 1640)
    assert out['only_reference_relations'] == sorted(MISSING_RELATIONS)
    assert out['shared_relations'] == kg.relations
    assert out['shared_entities'] == kg.num_entities  # every name we use exists in KCL's KG
    per = out['per_relation']
    for rel in ('isfamilyof', 'isPeriodOf'):  # categorical relations agree exactly
        assert per[rel] == {'ours': 118, 'reference': 118, 'shared': 118}
    assert per['isStateOf']['shared'] == per['isStateOf']['reference'] == 102
    text = format_kg_statistics(out)
    assert '225' in text and '1643' in text and f"{kg.num_entities:>8d}" in text and 'isModulusOf' in text
