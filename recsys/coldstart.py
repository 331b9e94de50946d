r"""The cold-start protocol (docs/coldstart.md), for any RecBole general or context-aware model.

A seeded share (``cold_fraction``, 20%) of the users are *cold*: their training set keeps only their first ``k``
interactions (time order) and they are evaluated, with full ranking, on all the rest. The other users are *warm*:
leave-one-out in time order (last interaction -> test, second last -> validation, the rest -> training).
Early stopping looks at the warm validation items only (a cold user's future is what is being predicted).
Cold and warm test users are evaluated separately (HR, NDCG, MRR, Recall @10 and @20); the items a user trained
on are masked from its ranking, as in RecBole's full-sort evaluation.

>>> from recsys.coldstart import split_roles
>>> import numpy as np
>>> uid = np.array([1, 1, 1, 1, 2, 2, 2, 2])
>>> split_roles(uid, np.arange(8.0), np.array([False, False, True]), k=1).tolist()
[0, 0, 1, 2, 0, 3, 3, 3]
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterable, NamedTuple, Optional, Sequence, Union

import numpy as np
import pandas as pd
import torch
from recbole.data import create_dataset
from recbole.data.utils import create_samplers, get_dataloader
from recbole.utils import get_model as recbole_model
from recbole.utils import init_seed

from graphcl.train import flush_denormals, write_json

from .config import build_config, to_plain
from .pipeline import MODELS, trainer_for

__all__ = ['BASELINES', 'COLD_KS', 'ColdStartData', 'PROTOCOL',
           'ROLES', 'TOPK', 'choose_cold_users', 'cold_start_data',
           'resolve_model', 'run_cold_start', 'split_roles']

#: The numbers of training interactions kept per cold user.
COLD_KS = (0, 1, 3)
#: Cut-offs of the reported metrics.
TOPK = [10, 20]
#: Role codes of :func:`split_roles`.
ROLES = {'train': 0, 'valid': 1, 'test_warm': 2, 'test_cold': 3}

#: Entries every model gets under the protocol (before its own): RecBole's default training batch for general
#: recommenders (base.yaml's 256 is the sequential models'; at 256 one ColdStartCL epoch on ml-100k takes 2.5x longer).
PROTOCOL: Dict[str, Any] = {'train_batch_size': 2048}
_NEGATIVE = {'distribution': 'uniform', 'sample_num': 1, 'alpha': 1.0, 'dynamic': False, 'candidate_num': 0}
#: Config entries of RecBole's baselines under the protocol: Pop (item popularity) needs none; BPR and NeuMF need
#: one sampled negative per positive; DeepFM (context-aware) also reads the user and item features (the fields
#: ColdStartCL uses, without context).
BASELINES: Dict[str, Dict[str, Any]] = {
    'Pop': {},
    'BPR': {'train_neg_sample_args': _NEGATIVE},
    'NeuMF': {'train_neg_sample_args': _NEGATIVE},
    'DeepFM': {'train_neg_sample_args': _NEGATIVE,
               'load_col': {'inter': ['user_id', 'item_id', 'timestamp'],
                            'user': ['user_id', 'age', 'gender', 'occupation', 'zip_code'],
                            'item': ['item_id', 'movie_title', 'release_year', 'class']},
               'unused_col': {'inter': ['timestamp']}, 'threshold': None},
}


def choose_cold_users(user_ids: np.ndarray, n_users: int, fraction: float, seed: int) -> np.ndarray:
    r"""Boolean mask over the ``n_users`` user ids: a seeded ``fraction`` of ``user_ids`` (rounded) is cold.

    Raises:
        ValueError: ``fraction`` outside :math:`[0, 1]`.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"Expected 'cold_fraction' in [0, 1] (got {fraction})")
    users = np.unique(user_ids)
    chosen = np.random.default_rng(seed).permutation(users)[:int(round(fraction * len(users)))]
    cold = np.zeros(n_users, dtype=bool)
    cold[chosen] = True
    return cold


def split_roles(uid: np.ndarray, timestamp: np.ndarray, cold: np.ndarray, k: int) -> np.ndarray:
    r"""Role of every interaction (:data:`ROLES`), vectorised: a cold user's first ``k`` interactions (time order,
    ties in row order) train and the rest are ``test_cold``; a warm user with at least 3 interactions has its last
    one in ``test_warm``, the second last in ``valid`` and the rest in training (fewer than 3: all training).

    Raises:
        ValueError: ``k`` < 0.
    """
    if k < 0:
        raise ValueError(f"Expected 'k' >= 0 (got {k})")
    n = uid.shape[0]
    order = np.lexsort((np.arange(n), timestamp, uid))
    grouped = uid[order]
    starts = np.r_[True, grouped[1:] != grouped[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.arange(n) - first  # position within the user, in time order
    size = np.bincount(grouped, minlength=int(cold.shape[0]))[grouped]
    warm_role = np.select([size < 3, rank == size - 1, rank == size - 2], [0, 2, 1], default=0)
    role_sorted = np.where(cold[grouped], np.where(rank < k, 0, 3), warm_role)
    roles = np.empty(n, dtype=np.int64)
    roles[order] = role_sorted
    return roles


class ColdStartData(NamedTuple):
    """Dataloaders of one cold-start split."""
    train: Any
    valid: Any  #: warm users' validation items
    test_warm: Any
    test_cold: Any
    cold: np.ndarray  #: boolean mask over user ids


def cold_start_data(config: Any, dataset: Any, k: int, cold_fraction: float = 0.2,
                    seed: int = 2020) -> ColdStartData:
    r"""RecBole dataloaders of the split of ``dataset`` (a RecBole dataset from ``create_dataset``) with ``k``
    training interactions per cold user (:func:`split_roles`, cold users from :func:`choose_cold_users`)."""
    if isinstance(dataset.inter_feat, pd.DataFrame):
        dataset._change_feat_format()  # DataFrame -> Interaction, as RecBole's Dataset.build does
    inter = dataset.inter_feat
    uid = inter[dataset.uid_field].numpy()
    stamp = inter[dataset.time_field].numpy() if dataset.time_field in inter.columns else np.zeros(len(uid))
    cold = choose_cold_users(uid, dataset.user_num, cold_fraction, seed)
    roles = split_roles(uid, stamp, cold, k)
    parts = {name: dataset.copy(inter[torch.from_numpy(np.flatnonzero(np.isin(roles, codes)))])
             for name, codes in (('train', [0]), ('valid', [1]), ('test', [2, 3]), ('test_warm', [2]),
                                 ('test_cold', [3]))}
    for part in parts.values():  # as RecBole after its split: `unused_col` fields leave the parts, not `dataset`
        part._drop_unused_col()
    train_sampler, valid_sampler, test_sampler = create_samplers(config, dataset,
                                                                 [parts['train'], parts['valid'], parts['test']])
    return ColdStartData(
        get_dataloader(config, 'train')(config, parts['train'], train_sampler, shuffle=config['shuffle']),
        get_dataloader(config, 'valid')(config, parts['valid'], valid_sampler, shuffle=False),
        get_dataloader(config, 'test')(config, parts['test_warm'], test_sampler, shuffle=False),
        get_dataloader(config, 'test')(config, parts['test_cold'], test_sampler, shuffle=False),
        cold)


def resolve_model(name: Union[str, type]) -> type:
    r"""A model class: one of :data:`recsys.pipeline.MODELS` or :data:`BASELINES` (case-insensitive), or any RecBole
    model by its class name (e.g. ``LightGCN``).

    Raises:
        ValueError: an unknown name, in one line.
    """
    if isinstance(name, type):
        return name
    for key, cls in MODELS.items():
        if key.lower() == str(name).lower():
            return cls
    canonical = {key.lower(): key for key in BASELINES}.get(str(name).lower(), str(name))
    try:
        return recbole_model(canonical)
    except (ValueError, AttributeError, ImportError):  # RecBole tries its exlib models (lightgbm, xgboost) last
        raise ValueError(f"Unknown model '{name}': expected one of {', '.join(MODELS)} or a RecBole model "
                         f"name") from None


def _metrics(result: Any) -> Dict[str, float]:
    return {str(key): float(value) for key, value in result.items()}


def run_cold_start(model: Union[str, type], dataset: str = 'ml-100k', ks: Sequence[int] = COLD_KS,
                   seed: int = 2020, cold_fraction: float = 0.2, config_dict: Optional[Dict[str, Any]] = None,
                   config_files: Optional[Iterable[Union[str, os.PathLike]]] = None,
                   out_dir: Optional[Union[str, os.PathLike]] = None) -> Dict[str, Any]:
    r"""Train and evaluate ``model`` once per ``k`` under the cold-start protocol.

    The baselines of :data:`BASELINES` get their entries under ``config_dict``. Returns (and, with ``out_dir``,
    writes as ``metrics.json``) ``{'cold': {k: metrics}, 'warm': {k: metrics}, 'warm_mean': metrics, ...}``
    with metrics ``hit@10``, ``ndcg@10``, ``mrr@10``, ``recall@10`` and the same at 20, plus the mean gate
    weights per ``k`` (``field_importance``) for models that have a gate.

    Raises:
        ValueError: an unknown model, an empty ``ks`` or a negative ``k``, a bad ``cold_fraction`` or config value.
    """
    if not ks or any(int(k) < 0 for k in ks):
        raise ValueError(f"Expected 'ks' to hold at least one k >= 0 (got {list(ks)})")
    cls = resolve_model(model)
    overrides = {**PROTOCOL, **BASELINES.get(cls.__name__, {}), **(config_dict or {}), 'seed': seed, 'topk': TOPK,
                 'metrics': ['Hit', 'NDCG', 'MRR', 'Recall'], 'valid_metric': 'NDCG@10'}
    result: Dict[str, Any] = {'model': cls.__name__, 'dataset': dataset, 'seed': seed,
                              'cold_fraction': cold_fraction, 'ks': list(ks), 'cold': {}, 'warm': {},
                              'field_importance': {}, 'epochs_run': {}, 'train_time_s': {}}
    with tempfile.TemporaryDirectory(prefix='coldstart-') as tmp:
        overrides['checkpoint_dir'] = tmp
        config = build_config(cls, dataset, overrides, config_files)
        init_seed(seed, config['reproducibility'])
        data = create_dataset(config)
        for k in ks:
            split = cold_start_data(config, data, int(k), cold_fraction, seed)
            init_seed(seed, config['reproducibility'])
            net = cls(config, split.train.dataset).to(config['device'])
            trainer = trainer_for(net)(config, net)
            start = time.perf_counter()
            with flush_denormals():
                trainer.fit(split.train, split.valid, saved=True, show_progress=False)
            result['train_time_s'][k] = time.perf_counter() - start
            result['epochs_run'][k] = (max(trainer.train_loss_dict) + 1) if trainer.train_loss_dict else 0
            loaded = Path(trainer.saved_model_file).is_file()
            result['warm'][k] = _metrics(trainer.evaluate(split.test_warm, load_best_model=loaded,
                                                          show_progress=False))
            result['cold'][k] = _metrics(trainer.evaluate(split.test_cold, load_best_model=loaded,
                                                          show_progress=False))
            result['n_cold_users'] = int(split.cold.sum())
            if hasattr(net, 'field_importance'):
                result['field_importance'][k] = net.field_importance()
    keys = result['warm'][ks[0]].keys()
    result['warm_mean'] = {key: float(np.mean([result['warm'][k][key] for k in ks])) for key in keys}
    result['config'] = to_plain({key: overrides[key] for key in overrides if key != 'checkpoint_dir'})
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(out_dir) / 'metrics.json', result)
    return result
