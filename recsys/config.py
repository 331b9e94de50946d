r"""RecBole configuration for the project's models: YAML layering and a :class:`~recbole.config.Config` subclass
that is safe to embed (no ``sys.argv`` parsing, explicit device).

Precedence, low to high (later wins), as RecBole's own order with our files in the "config files" slot:

1. RecBole's internal defaults (``overall.yaml``, its own model YAML for stock models such as ``SASRec``);
2. ``recsys/configs/base.yaml`` (protocol shared by every run: leave-one-out, full ranking, metrics);
3. ``recsys/models/<Model>.yaml`` (model defaults);
4. ``recsys/configs/<dataset>.yaml`` (dataset settings), then ``recsys/configs/<Model>-<dataset>.yaml``
   (published per-dataset hyper-parameters);
5. user YAML files, in the order given;
6. the dataset location from :func:`recsys.data.dataset_config`, then the user's ``config_dict``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import torch
from recbole.config import Config

__all__ = ['CONFIG_DIR', 'MODEL_CONFIG_DIR', 'RecsysConfig', 'build_config', 'config_files', 'to_plain',
           'train_stride']

#: Folder of the shared and per-dataset YAML files.
CONFIG_DIR = Path(__file__).resolve().parent / 'configs'
#: Folder of the model default YAML files.
MODEL_CONFIG_DIR = Path(__file__).resolve().parent / 'models'


class RecsysConfig(Config):
    r"""RecBole :class:`~recbole.config.Config` that ignores the process's command line (RecBole parses any
    ``--key=value`` in ``sys.argv``, which breaks under other CLIs and pytest) and resolves the device from the
    ``device`` key (``'auto'``/unset: CUDA when available and ``use_gpu``; else e.g. ``'cpu'``, ``'cuda:1'``)
    without touching ``CUDA_VISIBLE_DEVICES``."""

    def _load_cmd_line(self) -> Dict[str, Any]:
        return {}

    def _init_device(self) -> None:
        d = self.final_config_dict
        requested = d.get('device')
        if requested is None or str(requested) == 'auto':
            use_cuda = bool(d.get('use_gpu', True)) and torch.cuda.is_available()
            device = torch.device('cuda' if use_cuda else 'cpu')
        else:
            try:
                device = torch.device(requested)
            except (RuntimeError, TypeError) as exc:
                raise ValueError(f"Expected 'device' to be 'auto', 'cpu', 'cuda' or 'cuda:<index>' "
                                 f"(got {requested!r})") from exc
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise ValueError(f"Expected 'device' to be available (got {requested!r}, but CUDA is not)")
        d['device'] = device
        d['use_gpu'] = device.type == 'cuda'
        d['gpu_id'] = str(device.index or 0) if device.type == 'cuda' else ''
        d['single_spec'] = True
        d['local_rank'] = 0


def config_files(model_name: str, dataset: str) -> List[str]:
    r"""The project's YAML files for ``model_name`` on ``dataset`` that exist, lowest precedence first."""
    candidates = [CONFIG_DIR / 'base.yaml', MODEL_CONFIG_DIR / f'{model_name}.yaml',
                  CONFIG_DIR / f'{dataset}.yaml', CONFIG_DIR / f'{model_name}-{dataset}.yaml']
    return [str(p) for p in candidates if p.is_file()]


def build_config(model: type, dataset: str = 'ml-100k', config_dict: Optional[Dict[str, Any]] = None,
                 config_file_list: Optional[Iterable[Union[str, os.PathLike]]] = None,
                 data: Optional[Dict[str, Any]] = None) -> RecsysConfig:
    r"""Resolve the configuration of ``model`` (a RecBole model class) on ``dataset``.

    Args:
        model (type): the model class.
        dataset (str): dataset name (see :data:`recsys.data.DATASETS`).
        config_dict (dict, optional): highest-precedence overrides. (default: :obj:`None`)
        config_file_list (list of path, optional): user YAML files. (default: :obj:`None`)
        data (dict, optional): dataset location entries; by default :func:`recsys.data.dataset_config`.
            (default: :obj:`None`)
    """
    from .data import dataset_config, resolve_dataset
    dataset = resolve_dataset(dataset)
    files = config_files(model.__name__, dataset) + [str(f) for f in (config_file_list or [])]
    for f in files:
        if not os.path.isfile(f):
            raise FileNotFoundError(f"Config file not found: '{f}'")
    merged = dict(dataset_config(dataset) if data is None else data)
    merged.pop('dataset', None)
    merged.update(config_dict or {})
    return RecsysConfig(model=model, dataset=dataset, config_file_list=files, config_dict=merged)


def train_stride(config: Any) -> int:
    r"""The config's ``train_stride`` :math:`s` (unset: 1, every prefix), checked to lie in
    :math:`[1, \text{MAX\_ITEM\_LIST\_LENGTH}]` (a larger stride would skip targets)."""
    stride = int(1 if config['train_stride'] is None else config['train_stride'])
    longest = int(config['MAX_ITEM_LIST_LENGTH'])
    if not 1 <= stride <= longest:
        raise ValueError(f"Expected 'train_stride' in [1, MAX_ITEM_LIST_LENGTH = {longest}] (got {stride})")
    return stride


def to_plain(value: Any) -> Any:
    r"""A YAML/JSON-safe copy of a config value (enums, devices, numpy scalars and classes become strings or
    Python numbers)."""
    import enum

    import numpy as np
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, enum.Enum):
        return value.name
    return str(value)
