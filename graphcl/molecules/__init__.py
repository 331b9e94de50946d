"""Molecules: SMILES featurisation (PyG's categorical format), SMILES files, MoleculeNet sets, scaffold/random
splits, fingerprint clustering for KCL's hard-negative batches, the chemical-element knowledge graph and its
embedding. Needs RDKit (``pip install 'graphcl[chem]'``)."""
from .element_kg import ElementKG, build_element_kg, compare_with_reference, format_kg_statistics
from .featurize import (ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES, FeaturizedSmiles, InvalidSmilesWarning,
                        featurize_smiles, smiles_to_data)
from .kg_embedding import KGEmbeddingModel, train_kg_embedding
from .fingerprints import butina_batch_order, butina_clusters, morgan_fingerprints
from .moleculenet import MOLECULENET_PRESETS, MoleculeDataset, MoleculeNetPreset, load_molecule_dataset
from .smiles_file import read_smiles_file
from .splits import murcko_scaffold, random_split, scaffold_split

__all__ = [
    'ATOM_FEATURE_SIZES', 'BOND_FEATURE_SIZES', 'FeaturizedSmiles', 'InvalidSmilesWarning', 'smiles_to_data',
    'featurize_smiles', 'read_smiles_file', 'MoleculeNetPreset', 'MOLECULENET_PRESETS', 'MoleculeDataset',
    'load_molecule_dataset', 'murcko_scaffold', 'scaffold_split', 'random_split', 'morgan_fingerprints',
    'butina_clusters', 'butina_batch_order', 'ElementKG', 'build_element_kg', 'compare_with_reference',
    'format_kg_statistics', 'KGEmbeddingModel', 'train_kg_embedding',
]
