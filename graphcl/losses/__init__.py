"""Contrastive losses for graphs: InfoNCE (GRACE), DCL, hard negative mixing (MoCHi), Team-up (CSGCL), PamC, group
discrimination (GGD)."""
from .dcl import DCLLoss, dcl
from .group_discrimination import GroupDiscriminationLoss, group_discrimination
from .hard_negative_mixing import HardNegativeMixingLoss, hard_negative_mixing
from .info_nce import InfoNCELoss, info_nce
from .pamc import (
                   InfluenceContrastiveLoss,
                   PamCLoss,
                   edge_cosine,
                   influence_contrastive_loss,
                   meta_nodes,
                   pamc_graph,
                   pamc_loss,
)
from .team_up import TeamUpLoss, team_up, team_up_gamma

__all__ = [
    'InfoNCELoss',
    'info_nce',
    'DCLLoss',
    'dcl',
    'GroupDiscriminationLoss',
    'group_discrimination',
    'HardNegativeMixingLoss',
    'hard_negative_mixing',
    'TeamUpLoss',
    'team_up',
    'team_up_gamma',
    'PamCLoss',
    'pamc_loss',
    'pamc_graph',
    'meta_nodes',
    'edge_cosine',
    'InfluenceContrastiveLoss',
    'influence_contrastive_loss',
]
