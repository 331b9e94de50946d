"""Building blocks: the one message-passing layer, encoders built on it (node, molecule, KMPNN), readouts, heads."""
from .activation import ACTIVATIONS, RRELU_SLOPE, get_activation
from .backbone_conv import MODES, BackboneConv
from .atom_encoder import AtomEncoder, BondEncoder
from .encoders import BackboneEncoder, GATEncoder, GCNEncoder, GINEncoder
from .kmpnn_encoder import KMPNNEncoder
from .molecule_encoder import MoleculeEncoder
from .readout import READOUTS, WeightedSumAndMax, graph_readout, read_out
from .low_pass import LowPassFilter
from .projection_head import ProjectionHead
from .transformer_block import (RECBOLE_KEY_MAP, TransformerBlock, TransformerEncoder,
                                map_recbole_state_dict)

__all__ = [
    "ACTIVATIONS",
    "RRELU_SLOPE",
    "MODES",
    "READOUTS",
    "AtomEncoder",
    "BondEncoder",
    "KMPNNEncoder",
    "MoleculeEncoder",
    "WeightedSumAndMax",
    "graph_readout",
    "read_out",
    "RECBOLE_KEY_MAP",
    "BackboneConv",
    "BackboneEncoder",
    "GATEncoder",
    "GCNEncoder",
    "GINEncoder",
    "LowPassFilter",
    "ProjectionHead",
    "TransformerBlock",
    "TransformerEncoder",
    "get_activation",
    "map_recbole_state_dict",
]
