"""RecBole ``SequentialRecommender`` models built on the project's backbone transformer."""
from .cl4srec import CL4SRec
from .icsrec import ICSRec, kmeans
from .mclrec import MCLRec, MLPAugmenter
from .sasrec_backbone import SASRecBackbone

__all__ = ['CL4SRec', 'ICSRec', 'MCLRec', 'MLPAugmenter', 'SASRecBackbone', 'kmeans']
