"""Contrastive losses for graphs: InfoNCE (GRACE), DCL, hard negative mixing, Team-up (CSGCL)."""
from .info_nce import InfoNCELoss, info_nce

__all__ = ['InfoNCELoss', 'info_nce']
