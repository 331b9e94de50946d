r"""The chemical-element knowledge graph of KCL, built from :mod:`mendeleev` with documented binning.

`"Molecular Contrastive Learning with Chemical Element Knowledge Graph" (KCL, Fang et al., AAAI 2022)
<https://arxiv.org/abs/2112.00544>`_ links every element to *attribute nodes* (discretised property bins such as
``Period2`` or ``Electronegativity4``) by typed relations (``isPeriodOf``, ...). The published KG
(``elementkg/triples.txt``: 225 entities, 17 relations, 1,643 triples) was curated by hand; this module rebuilds an
equivalent KG from the ``mendeleev`` database so that every bin edge is reproducible, and compares the two.

Relations, sources and binning (:data:`RELATION_SPECS`; fields of mendeleev's ``elements`` table unless said
otherwise; relation names as in KCL's file):

- ``isfamilyof`` -> ``Family1-18``: ``group_id``; f-block elements without a group (Ce-Lu, Th-Lr) go to
  ``Family3``, as in KCL.
- ``isMetallicityOf`` -> 9 classes (:data:`METALLICITY_CLASSES`, KCL's names): ``series_id`` (mendeleev series);
  ``Nonmetals`` and ``Halogens`` both map to ``ReactiveNonmetals``.
- ``isPeriodOf`` -> ``Period1-7``: ``period``.
- ``isStateOf`` -> ``Solid`` / ``Liquid`` / ``Gas`` at 298.15 K from the ``phasetransitions`` table: Gas if the
  boiling point is at most 298.15 K, Solid if the melting point is above it, Liquid if melting point <= 298.15 K <
  boiling point.
- ``isWeightOf`` -> ``Weight1-9``: ``atomic_weight`` (u), 9 equal-width bins.
- ``isElectronegativityOf`` -> ``Electronegativity1-5``: ``en_pauling``, 5 equal-width bins.
- ``isMeltingPointOf`` -> ``MeltingPoint1-9``: ``phasetransitions.melting_point`` (K), 9 equal-width bins.
- ``isBoilingPointOf`` -> ``BoilingPoint1-9``: ``phasetransitions.boiling_point`` (K), 9 equal-width bins.
- ``isElectronAffinityOf`` -> ``ElectronAffinity1-5``: ``electron_affinity`` (eV) clipped below at 0 (an unbound
  anion counts as zero affinity), 5 equal-width bins.
- ``isIonizationOf`` -> ``Ionization1-4``: first ionisation energy (``ionizationenergies`` table, ``ion_charge``
  0, eV), 4 equal-width bins.
- ``isRadiusOf`` -> ``Radius1-3``: ``atomic_radius`` (pm), 3 equal-width bins.
- ``isDensityOf`` -> ``Density1-3``: ``density`` (g/cm^3), 3 equal-width bins.
- ``isConductivityOf`` -> ``Conductivity1-4``: ``thermal_conductivity`` (W/(m K)), 4 bins equal-width in log10.
- ``isHeatOf`` -> ``Heat1-6``: ``specific_heat_capacity`` (J/(g K)), 6 bins equal-width in log10.
- ``isAbundanceOf`` -> ``Abundance1-5``: ``abundance_crust`` (mg/kg), 5 bins equal-width in log10.

Equal-width bins span ``[min, max]`` of the elements that have the property (in log10 for the three properties
that span orders of magnitude, where linear bins would put almost every element in bin 1), so the bin is monotone
in the property (the minimum falls in the first bin, the maximum in the last); bin counts are KCL's. Bins that no
element falls in create no attribute node (bin names keep their index, so ``Heat1, Heat2, Heat4`` could occur).
An element without a value gets no triple for that relation. Carbon has no melting point in mendeleev, only a
sublimation point, which serves as its melting and boiling point; among allotropes the row that is neither a
solid-solid transition nor a sublimation is used (white P and Sn, monoclinic S, grey Se). KCL's ``isHardnessOf``
and ``isModulusOf`` have no source in mendeleev or RDKit's periodic table and are left out
(:data:`MISSING_RELATIONS`), so the KG has 15 relations. KCL's own bins are hand-made and often not monotone
(e.g. ``Electronegativity1`` holds Kr), so only the categorical relations agree triple for triple
(:func:`compare_with_reference`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ['ElementKG', 'ElementAttributeTable', 'RELATION_SPECS', 'MISSING_RELATIONS', 'METALLICITY_CLASSES',
           'NUM_ELEMENTS', 'ROOM_TEMPERATURE', 'build_element_kg', 'element_properties', 'element_attribute_table',
           'load_reference_triples', 'compare_with_reference', 'format_kg_statistics', 'reference_triples_path']

NUM_ELEMENTS = 118
ROOM_TEMPERATURE = 298.15  # K


class _RelationSpec(NamedTuple):
    name: str  # relation name, as in KCL's triples.txt
    prefix: str  # attribute-node name prefix (bins) or '' (categorical: names are the categories)
    bins: int  # number of equal-width bins; 0 for a categorical relation
    log: bool  # bins are equal-width in log10 of the value
    source: str  # the mendeleev field(s) used


#: The relations of the KG in order (relation index = position), with KCL's names and bin counts.
RELATION_SPECS: Tuple[_RelationSpec, ...] = (
    _RelationSpec('isfamilyof', 'Family', 0, False, 'elements.group_id (no group -> 3)'),
    _RelationSpec('isMetallicityOf', '', 0, False, 'elements.series_id'),
    _RelationSpec('isPeriodOf', 'Period', 0, False, 'elements.period'),
    _RelationSpec('isStateOf', '', 0, False, 'phasetransitions.melting_point/boiling_point vs 298.15 K'),
    _RelationSpec('isWeightOf', 'Weight', 9, False, 'elements.atomic_weight'),
    _RelationSpec('isElectronegativityOf', 'Electronegativity', 5, False, 'elements.en_pauling'),
    _RelationSpec('isMeltingPointOf', 'MeltingPoint', 9, False, 'phasetransitions.melting_point'),
    _RelationSpec('isBoilingPointOf', 'BoilingPoint', 9, False, 'phasetransitions.boiling_point'),
    _RelationSpec('isElectronAffinityOf', 'ElectronAffinity', 5, False, 'elements.electron_affinity clipped at 0'),
    _RelationSpec('isIonizationOf', 'Ionization', 4, False, 'ionizationenergies.ionization_energy (ion_charge 0)'),
    _RelationSpec('isRadiusOf', 'Radius', 3, False, 'elements.atomic_radius'),
    _RelationSpec('isDensityOf', 'Density', 3, False, 'elements.density'),
    _RelationSpec('isConductivityOf', 'Conductivity', 4, True, 'elements.thermal_conductivity'),
    _RelationSpec('isHeatOf', 'Heat', 6, True, 'elements.specific_heat_capacity'),
    _RelationSpec('isAbundanceOf', 'Abundance', 5, True, 'elements.abundance_crust'),
)

#: KCL relations without an offline source (not in the KG).
MISSING_RELATIONS: Tuple[str, ...] = ('isHardnessOf', 'isModulusOf')

#: Metallicity classes (KCL's names, correctly spelt) and the mendeleev series mapped to each.
METALLICITY_CLASSES: Dict[str, Tuple[str, ...]] = {
    'AlkaliMetals': ('Alkali metals',),
    'AlkalineEarthMetals': ('Alkaline earth metals',),
    'Lanthanoids': ('Lanthanides',),
    'Actinoids': ('Actinides',),
    'TransitionMetals': ('Transition metals',),
    'PosttransitionMetals': ('Poor metals',),
    'Metalloids': ('Metalloids',),
    'ReactiveNonmetals': ('Nonmetals', 'Halogens'),
    'NobleGases': ('Noble gases',),
}
_STATES = ('Solid', 'Liquid', 'Gas')

# Spelling differences between KCL's file and our attribute names (applied to the reference when comparing).
_REFERENCE_ALIASES = {'MeltingPonint': 'MeltingPoint', 'Mralloids': 'Metalloids', 'NobleGasses': 'NobleGases'}


@dataclass(frozen=True, eq=False)
class ElementKG:
    r"""A knowledge graph over chemical elements and their attribute nodes.

    Args:
        entities (list[str]): entity names; the first 118 are the element symbols in atomic-number order (entity
            :math:`i` is the element with atomic number :math:`i + 1`), then the attribute nodes grouped by relation.
        relations (list[str]): relation names (relation index = position).
        triples (torch.LongTensor): :math:`(T, 3)` rows ``(head, relation, tail)`` with head an attribute entity
            and tail an element entity, e.g. ``(Period2, isPeriodOf, C)``.
    """
    entities: List[str]
    relations: List[str]
    triples: Tensor

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    @property
    def num_elements(self) -> int:
        return NUM_ELEMENTS

    @property
    def num_triples(self) -> int:
        return self.triples.size(0)

    def triple_names(self) -> List[Tuple[str, str, str]]:
        """The triples as ``(head name, relation name, tail name)``."""
        return [(self.entities[h], self.relations[r], self.entities[t]) for h, r, t in self.triples.tolist()]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_entities={self.num_entities}, num_relations={self.num_relations}, '
                f'num_triples={self.num_triples})')


class ElementAttributeTable(NamedTuple):
    r"""For every atomic number :math:`z \in \{0, \dots, 118\}` (0: dummy atom ``*``, no attributes), its
    attribute entities, one column per relation (column :math:`r` is relation :math:`r`; each element has at most
    one attribute per relation), padded with ``-1`` where the element has no value.

    Shapes:
        - **entity**, **relation**: :math:`(119, R)` long; **mask**: :math:`(119, R)` bool (``entity >= 0``).
    """
    entity: Tensor
    relation: Tensor
    mask: Tensor


def _equal_width_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """1-based bin of each finite value among ``bins`` equal-width bins over ``[min, max]``; 0 where NaN."""
    out = np.zeros(values.shape, dtype=np.int64)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    lo, hi = values[ok].min(), values[ok].max()
    width = (hi - lo) / bins if hi > lo else 1.0
    out[ok] = np.minimum(np.floor((values[ok] - lo) / width).astype(np.int64), bins - 1) + 1
    return out


@lru_cache(maxsize=1)
def _mendeleev_tables():
    from mendeleev.fetch import fetch_table

    elements = fetch_table('elements').set_index('atomic_number').sort_index()
    series = fetch_table('series').set_index('id')['name']
    ie = fetch_table('ionizationenergies')
    ie = ie[ie['ion_charge'] == 0].set_index('atomic_number')['ionization_energy']
    pt = fetch_table('phasetransitions')
    pt = pt.assign(_t=pt['is_transition'].fillna(0), _s=pt['is_sublimation_point'].fillna(0))
    pt = pt.sort_values(['atomic_number', '_t', '_s', 'id']).drop_duplicates('atomic_number').set_index('atomic_number')
    return elements, series, ie, pt


def element_properties() -> Dict[str, np.ndarray]:
    """The raw property behind each relation, per element (index ``z - 1``; float arrays of length 118, NaN where
    the element has no value; categorical relations give their category index, 1-based, as float).

    Binned relations hold the value as binned (the clipped electron affinity; before the log10 of the relations
    with ``log=True``), so the bin is non-decreasing in these values.
    """
    elements, series, ie, pt = _mendeleev_tables()
    z = np.arange(1, NUM_ELEMENTS + 1)

    def col(frame, name):
        return frame[name].reindex(z).to_numpy(dtype=float)

    group = col(elements, 'group_id')
    group[np.isnan(group)] = 3.0  # f-block elements (Ce-Lu, Th-Lr) have no group in mendeleev: KCL puts them in 3
    series_name = elements['series_id'].reindex(z).map(series).to_numpy()
    class_index = {s: i + 1 for i, (_, names) in enumerate(METALLICITY_CLASSES.items()) for s in names}
    metallicity = np.array([class_index.get(s, np.nan) for s in series_name], dtype=float)

    melt, boil = col(pt, 'melting_point'), col(pt, 'boiling_point')
    sublimes = col(pt, 'is_sublimation_point') == 1
    melt = np.where(sublimes & np.isnan(melt), boil, melt)
    state = np.full(NUM_ELEMENTS, np.nan)
    state[melt > ROOM_TEMPERATURE] = 1.0  # Solid
    state[(melt <= ROOM_TEMPERATURE) & (boil > ROOM_TEMPERATURE)] = 2.0  # Liquid
    state[boil <= ROOM_TEMPERATURE] = 3.0  # Gas

    with np.errstate(divide='ignore', invalid='ignore'):
        abundance = np.log10(col(elements, 'abundance_crust'))
    abundance[~np.isfinite(abundance)] = np.nan
    return {
        'isfamilyof': group,
        'isMetallicityOf': metallicity,
        'isPeriodOf': col(elements, 'period'),
        'isStateOf': state,
        'isWeightOf': col(elements, 'atomic_weight'),
        'isElectronegativityOf': col(elements, 'en_pauling'),
        'isMeltingPointOf': melt,
        'isBoilingPointOf': boil,
        'isElectronAffinityOf': np.maximum(col(elements, 'electron_affinity'), 0.0),
        'isIonizationOf': ie.reindex(z).to_numpy(dtype=float),
        'isRadiusOf': col(elements, 'atomic_radius'),
        'isDensityOf': col(elements, 'density'),
        'isConductivityOf': col(elements, 'thermal_conductivity'),
        'isHeatOf': col(elements, 'specific_heat_capacity'),
        'isAbundanceOf': col(elements, 'abundance_crust'),
    }


def _category_names(spec: _RelationSpec, count: int) -> List[str]:
    if spec.name == 'isMetallicityOf':
        return list(METALLICITY_CLASSES)
    if spec.name == 'isStateOf':
        return list(_STATES)
    return [f'{spec.prefix}{k}' for k in range(1, count + 1)]


@lru_cache(maxsize=1)
def build_element_kg() -> ElementKG:
    r"""Builds the element KG (cached: every call returns the same object; do not modify its tensors).

    Entities: the 118 element symbols, then for each relation in :data:`RELATION_SPECS` order its non-empty
    attribute nodes in bin (category) order. Triples are sorted by relation, head, tail.

    Example:
        >>> kg = build_element_kg()
        >>> kg.entities[5], kg.num_relations
        ('C', 15)
    """
    elements = _mendeleev_tables()[0]
    symbols = elements['symbol'].reindex(range(1, NUM_ELEMENTS + 1)).tolist()
    props = element_properties()
    entities, relations, triples = list(symbols), [], []
    for r, spec in enumerate(RELATION_SPECS):
        values = props[spec.name]
        if spec.bins:
            label = _equal_width_bins(np.log10(values) if spec.log else values, spec.bins)
            names = _category_names(spec, spec.bins)
        else:
            label = np.where(np.isfinite(values), values, 0).astype(np.int64)
            names = _category_names(spec, 18 if spec.name == 'isfamilyof' else 7)
        relations.append(spec.name)
        for k in np.unique(label[label > 0]):  # loop over the (few) bins of one relation
            head = len(entities)
            entities.append(names[k - 1])
            tails = np.nonzero(label == k)[0]
            triples.append(np.stack([np.full_like(tails, head), np.full_like(tails, r), tails], 1))
    return ElementKG(entities, relations, torch.from_numpy(np.concatenate(triples)).long())


def element_attribute_table(kg: ElementKG) -> ElementAttributeTable:
    r"""The attribute entities of every atomic number as a padded :math:`(119, R)` table (row :math:`z`, column
    :math:`r`), so that augmenting a molecule is a gather ``table.entity[z]``. Row 0 (dummy atom) is all padding.

    Raises:
        ValueError: if an element has two attributes for one relation.
    """
    head, rel, tail = kg.triples.t()
    if (tail < 0).any() or (tail >= NUM_ELEMENTS).any():
        raise ValueError(f"Expected every triple's tail to be an element entity in [0, {NUM_ELEMENTS}) "
                         f"(got tails in [{int(tail.min())}, {int(tail.max())}])")
    key = (tail + 1) * kg.num_relations + rel
    if torch.unique(key).numel() != key.numel():
        raise ValueError("Expected at most one attribute per (element, relation) in 'kg' (got duplicates)")
    entity = torch.full((NUM_ELEMENTS + 1, kg.num_relations), -1, dtype=torch.long)
    entity[tail + 1, rel] = head
    relation = torch.arange(kg.num_relations).expand(NUM_ELEMENTS + 1, -1).clone()
    relation[entity < 0] = -1
    return ElementAttributeTable(entity, relation, entity >= 0)


# ----------------------------------------------------------------------------------------------- reference file
def reference_triples_path(root: Optional[Union[str, os.PathLike]] = None) -> Path:
    """``<data root>/elementkg/triples.txt`` (KCL's published KG), see :func:`graphcl.data.root.data_root`."""
    from graphcl.data.root import data_root

    return data_root(root) / 'elementkg' / 'triples.txt'


def load_reference_triples(path: Optional[Union[str, os.PathLike]] = None) -> List[Tuple[str, str, str]]:
    """Reads KCL's ``triples.txt`` (``head relation tail`` per line, whitespace-separated), every line kept
    (the file has 3 duplicated lines). ``path`` defaults to :func:`reference_triples_path`."""
    path = reference_triples_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Expected KCL's element KG at 'path' (got '{path}', which does not exist); pass "
                                f"'path' or set $GRAPHCL_DATA to the folder holding 'elementkg/triples.txt'")
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise ValueError(f"Expected 3 fields per line in '{path}' (got {len(fields)} on line {number})")
        out.append((fields[0], fields[1], fields[2]))
    return out


def _normalise_attribute(name: str) -> str:
    for wrong, right in _REFERENCE_ALIASES.items():
        if name.startswith(wrong):
            return right + name[len(wrong):]
    return name


def compare_with_reference(kg: ElementKG, path: Optional[Union[str, os.PathLike]] = None) -> dict:
    """Compares ``kg`` with KCL's published KG.

    Reference attribute names are normalised for KCL's misspellings (``MeltingPonint`` -> ``MeltingPoint``,
    ``Mralloids`` -> ``Metalloids``, ``NobleGasses`` -> ``NobleGases``); triples are compared as sets of
    ``(attribute name, relation, element)``. Since bins are defined differently, triple overlap of binned relations
    measures agreement of the binning, and is exact only for categorical ones (family, period, state, metallicity).

    Returns:
        dict with ``ours`` and ``reference`` (``entities``, ``attributes``, ``relations``, ``triples``, ``lines``),
        ``shared_relations``, ``only_ours_relations``, ``only_reference_relations``, ``shared_entities``,
        ``shared_triples``, ``jaccard`` and ``per_relation`` (``{relation: {'ours', 'reference', 'shared'}}``).
    """
    ref_lines = load_reference_triples(path)
    ref = {(_normalise_attribute(h), r, t) for h, r, t in ref_lines}
    ours = set(kg.triple_names())
    ref_entities = {h for h, _, _ in ref} | {t for _, _, t in ref}
    ref_relations = sorted({r for _, r, _ in ref})
    per_relation = {}
    for rel in list(kg.relations) + [r for r in ref_relations if r not in kg.relations]:
        a = {x for x in ours if x[1] == rel}
        b = {x for x in ref if x[1] == rel}
        per_relation[rel] = {'ours': len(a), 'reference': len(b), 'shared': len(a & b)}
    shared = ours & ref

    def summary(triples, entities, relations, lines):
        return {'entities': len(entities), 'attributes': len({h for h, _, _ in triples}),
                'relations': len(relations), 'triples': len(triples), 'lines': lines}

    return {
        'ours': summary(ours, kg.entities, kg.relations, kg.num_triples),
        'reference': summary(ref, ref_entities, ref_relations, len(ref_lines)),
        'shared_relations': [r for r in kg.relations if r in ref_relations],
        'only_ours_relations': [r for r in kg.relations if r not in ref_relations],
        'only_reference_relations': [r for r in ref_relations if r not in kg.relations],
        'shared_entities': len(set(kg.entities) & ref_entities),
        'shared_triples': len(shared),
        'jaccard': len(shared) / max(len(ours | ref), 1),
        'per_relation': per_relation,
    }


def format_kg_statistics(comparison: dict) -> str:
    """A plain-text table of :func:`compare_with_reference`'s result: totals of ours beside the reference's, then
    triples per relation (ours / reference / shared)."""
    o, r = comparison['ours'], comparison['reference']
    lines = [f"{'':24s}{'ours':>8s}{'KCL':>8s}",
             f"{'entities':24s}{o['entities']:>8d}{r['entities']:>8d}",
             f"{'attribute nodes':24s}{o['attributes']:>8d}{r['attributes']:>8d}",
             f"{'relations':24s}{o['relations']:>8d}{r['relations']:>8d}",
             f"{'triples (unique)':24s}{o['triples']:>8d}{r['triples']:>8d}",
             f"{'lines in file':24s}{'':>8s}{r['lines']:>8d}",
             f"shared entities: {comparison['shared_entities']}, shared triples: {comparison['shared_triples']} "
             f"(Jaccard {comparison['jaccard']:.3f})",
             f"{'relation':24s}{'ours':>8s}{'KCL':>8s}{'shared':>8s}"]
    for rel, c in comparison['per_relation'].items():
        lines.append(f"{rel:24s}{c['ours']:>8d}{c['reference']:>8d}{c['shared']:>8d}")
    return '\n'.join(lines)
