"""Graph augmenters (PyG transforms): structural (GRACE, GraphCL, MVGRL, PyGCL set), community-aware (CSGCL),
molecular (GraphCL / MolCLR) and chemical-element knowledge (KCL)."""
from .base import Augmenter
from .edge_removing import EdgeRemoving
from .edge_adding import EdgeAdding
from .feature_masking import FeatureMasking
from .feature_dropout import FeatureDropout
from .node_dropping import NodeDropping
from .rw_sampling import RWSampling, random_walk
from .ppr_diffusion import PPRDiffusion, ppr_diffusion
from .random_choice import RandomChoice
from .community import (COMMUNITY_METHODS, CommunityInfo, communal_attribute_weights, communal_edge_weights,
                        community_info, community_strength, detect_communities)
from .communal_edge_dropping import CommunalEdgeDropping, communal_keep_prob
from .communal_attribute_voting import CommunalAttributeVoting, communal_drop_prob
from .atom_masking import AtomMasking
from .bond_deletion import BondDeletion
from .subgraph_removal import SubgraphRemoval
from .element_knowledge import ElementKnowledgeAugment

__all__ = [
    'Augmenter',
    'EdgeRemoving',
    'EdgeAdding',
    'FeatureMasking',
    'FeatureDropout',
    'NodeDropping',
    'RWSampling',
    'random_walk',
    'PPRDiffusion',
    'ppr_diffusion',
    'RandomChoice',
    'COMMUNITY_METHODS',
    'CommunityInfo',
    'detect_communities',
    'community_strength',
    'community_info',
    'communal_edge_weights',
    'communal_attribute_weights',
    'CommunalEdgeDropping',
    'communal_keep_prob',
    'CommunalAttributeVoting',
    'communal_drop_prob',
    'AtomMasking',
    'BondDeletion',
    'SubgraphRemoval',
    'ElementKnowledgeAugment',
]
