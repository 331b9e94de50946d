r"""Contrastive sequential recommenders (SASRec on the backbone, CL4SRec, MCLRec, ICSRec) hosted by RecBole 1.2.1.

``import recsys`` first applies :mod:`recsys.compat` (numpy 2 / torch >= 2.6 / pandas 3 patches for RecBole).

>>> import recsys
>>> result = recsys.run('SASRecBackbone', dataset='ml-100k', config_dict={'epochs': 1})  # doctest: +SKIP
>>> result['test']['ndcg@10']  # doctest: +SKIP
"""
from . import compat

compat.apply()

from .augment import AUGMENTATIONS, SequenceAugmentation, item_crop, item_mask, item_reorder, random_views  # noqa: E402
from .config import RecsysConfig, build_config, config_files  # noqa: E402
from .data import DATASETS, SEQREC_DATASETS, convert_seqrec, dataset_config  # noqa: E402
from .losses import SequenceInfoNCELoss, margin_regularizer, sequence_info_nce  # noqa: E402
from .models import CL4SRec, ICSRec, MCLRec, MLPAugmenter, SASRecBackbone  # noqa: E402
from .pipeline import MODELS, export_topk, get_model, load_data, run, trainer_for  # noqa: E402
from .trainers import ICSRecTrainer, MCLRecTrainer, RecTrainer  # noqa: E402

__all__ = [
    'AUGMENTATIONS',
    'CL4SRec',
    'DATASETS',
    'ICSRec',
    'ICSRecTrainer',
    'MCLRec',
    'MCLRecTrainer',
    'MLPAugmenter',
    'MODELS',
    'RecTrainer',
    'RecsysConfig',
    'SASRecBackbone',
    'SEQREC_DATASETS',
    'SequenceAugmentation',
    'SequenceInfoNCELoss',
    'build_config',
    'compat',
    'config_files',
    'convert_seqrec',
    'dataset_config',
    'export_topk',
    'get_model',
    'item_crop',
    'item_mask',
    'item_reorder',
    'load_data',
    'margin_regularizer',
    'random_views',
    'run',
    'sequence_info_nce',
    'trainer_for',
]
