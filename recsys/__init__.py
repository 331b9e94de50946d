r"""Contrastive sequential recommenders (SASRec on the backbone, CL4SRec, MCLRec, ICSRec) and the cold-start
recommender ColdStartCL, hosted by RecBole 1.2.1.

``import recsys`` is light (the ``recsys`` command line answers ``--help`` without torch): the names below are
imported on first use (PEP 562). Before the first of our modules that uses RecBole is imported (``recsys.MCLRec``,
``from recsys.pipeline import run``, ...), :mod:`recsys.compat` is applied (numpy 2 / torch >= 2.6 / pandas 3
patches for RecBole); code that uses RecBole directly, without our modules, calls ``recsys.compat.apply()`` first.

>>> import recsys
>>> result = recsys.run('SASRecBackbone', dataset='ml-100k', config_dict={'epochs': 1})  # doctest: +SKIP
>>> result['test']['ndcg@10']  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any

from graphcl import _lazy_exports

# public name -> the module that defines it
_EXPORTS = {
    **dict.fromkeys(('AUGMENTATIONS', 'SequenceAugmentation', 'item_crop', 'item_mask', 'item_reorder',
                     'random_views'), '.augment'),
    **dict.fromkeys(('COLD_KS', 'choose_cold_users', 'cold_start_data', 'run_cold_start', 'split_roles'),
                    '.coldstart'),
    **dict.fromkeys(('RecsysConfig', 'build_config', 'config_files'), '.config'),
    **dict.fromkeys(('DATASETS', 'SEQREC_DATASETS', 'convert_seqrec', 'dataset_config'), '.data'),
    **dict.fromkeys(('SequenceInfoNCELoss', 'margin_regularizer', 'sequence_info_nce'), '.losses'),
    **dict.fromkeys(('CL4SRec', 'ColdStartCL', 'ICSRec', 'MCLRec', 'MLPAugmenter', 'SASRecBackbone'),
                    '.models'),
    **dict.fromkeys(('MODELS', 'export_topk', 'get_model', 'load_data', 'run', 'trainer_for'), '.pipeline'),
    **dict.fromkeys(('ICSRecTrainer', 'MCLRecTrainer', 'RecTrainer'), '.trainers'),
}
# our modules that import neither RecBole nor torch: importing them does not apply recsys.compat
_WITHOUT_RECBOLE = frozenset({f'{__name__}.cli', f'{__name__}.compat', f'{__name__}.data'})

__all__ = sorted(['compat', *_EXPORTS])


class _CompatFirst(importlib.abc.MetaPathFinder):
    """Applies :func:`recsys.compat.apply` before the first import of one of our modules that may use RecBole, then
    leaves ``sys.meta_path``; it finds nothing itself."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.startswith(f'{__name__}.') and fullname not in _WITHOUT_RECBOLE:
            from . import compat
            compat.apply()  # imports RecBole and torch, none of our modules
            if self in sys.meta_path:
                sys.meta_path.remove(self)
        return None


sys.meta_path.insert(0, _CompatFirst())
_export, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)


def __getattr__(name: str) -> Any:
    if name == 'compat':  # a submodule, not a name defined in one
        return importlib.import_module(f'{__name__}.compat')
    return _export(name)
