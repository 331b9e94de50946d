"""RecBole ``SequentialRecommender`` models built on the project's backbone transformer, and the cold-start
``GeneralRecommender`` ColdStartCL."""
from .cl4srec import CL4SRec
from .coldstart_cl import ColdStartCL
from .icsrec import ICSRec, kmeans
from .mclrec import MCLRec, MLPAugmenter
from .sasrec_backbone import SASRecBackbone

__all__ = ['CL4SRec', 'ColdStartCL', 'ICSRec', 'MCLRec', 'MLPAugmenter', 'SASRecBackbone', 'kmeans']
