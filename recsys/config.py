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

A ``data_path`` given by the user (YAML file or ``config_dict``) is honoured for every dataset name, ``ml-100k``
included (RecBole itself always reads its shipped copy for that name): the dataset is then the user's
``<data_path>/<name>/<name>.inter`` (or ``<data_path>/<name>.inter``), see :func:`recsys.data.atomic_dataset_dir`.

:func:`build_config` checks what would otherwise fail late or silently (:func:`check_config`): YAML files that do
not parse, ``train_stride`` and ``epochs`` that are not integers in range, ``train_stride`` > 1 for a model whose
loss does not cover the skipped targets (RecBole's ``SASRec``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Union

import torch
import yaml
from recbole.config import Config

from graphcl.train import distributed

__all__ = ['CONFIG_DIR', 'MODEL_CONFIG_DIR', 'Launch', 'RecsysConfig', 'build_config', 'check_config', 'config_files',
           'launch_settings', 'model_config_files', 'read_yaml', 'to_plain', 'train_stride']

#: Folder of the shared and per-dataset YAML files.
CONFIG_DIR = Path(__file__).resolve().parent / 'configs'
#: Folder of the model default YAML files.
MODEL_CONFIG_DIR = Path(__file__).resolve().parent / 'models'


class RecsysConfig(Config):
    r"""RecBole :class:`~recbole.config.Config` that ignores the process's command line (RecBole parses any
    ``--key=value`` in ``sys.argv``, which breaks under other CLIs and pytest) and resolves the device from the
    ``device`` key (``'auto'``/unset: CUDA when available and ``use_gpu``; else e.g. ``'cpu'``, ``'cuda:1'``)
    without touching ``CUDA_VISIBLE_DEVICES``.

    Inside a process group (a rank started by :func:`recsys.run` with ``nproc`` > 1, see :func:`launch_settings`)
    the config is RecBole's multi-process one: ``single_spec`` False, ``local_rank`` and ``world_size`` those of the
    group, ``cuda`` becomes ``cuda:<local_rank>``, and ranks other than 0 show no progress bar
    (:class:`~recbole.trainer.Trainer` then wraps the model in DDP and the dataloaders shard with a
    ``DistributedSampler``). RecBole's own ``Config`` would start the process group itself, with NCCL only."""

    def _load_cmd_line(self) -> Dict[str, Any]:
        return {}

    def _set_default_parameters(self) -> None:
        super()._set_default_parameters()
        given = self.external_config_dict.get('data_path')
        if given is not None:  # RecBole replaces any data_path by its shipped copy for 'ml-100k'
            from .data import atomic_dataset_dir, check_inter_header
            folder = atomic_dataset_dir(self.dataset, str(given))
            d = self.final_config_dict
            check_inter_header(folder / f'{self.dataset}.inter',
                               [d[k] for k in ('USER_ID_FIELD', 'ITEM_ID_FIELD', 'TIME_FIELD') if d.get(k)])
            d['data_path'] = str(folder)

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
        device = distributed.device_for_rank(device)
        d['device'] = device
        d['use_gpu'] = device.type == 'cuda'
        d['gpu_id'] = str(device.index or 0) if device.type == 'cuda' else ''
        d['single_spec'] = not distributed.is_distributed()
        d['local_rank'] = distributed.local_rank() if distributed.is_distributed() else 0
        if distributed.is_distributed():
            d['world_size'] = distributed.world_size()
            if not distributed.is_main_process():  # as RecBole's Config: one progress bar, from rank 0
                d['show_progress'] = False


class Launch(NamedTuple):
    """Where the processes of a multi-process run go (RecBole's keys, checked by :func:`launch_settings`)."""
    nproc: int  #: processes started on this machine
    world_size: int  #: processes on all machines
    offset: int  #: global rank of this machine's first process
    ip: str  #: address of the machine of global rank 0
    port: Optional[int]  #: its port for the process group (None: a free port, chosen when the run starts)
    backend: str  #: 'nccl' (CUDA devices) or 'gloo' (CPU)


def launch_settings(config: Any) -> Launch:
    r"""The multi-process settings of ``config``, RecBole's keys: ``nproc`` (processes on this machine, default 1),
    ``world_size`` (on all machines; -1 or unset: ``nproc``), ``offset`` (global rank of this machine's first
    process, default 0), ``ip`` and ``port`` (of global rank 0's machine; default ``localhost`` and, on one machine,
    a free port). The backend is NCCL when the device is CUDA (rank :math:`i` of a machine on ``cuda:i``), else Gloo.

    Raises:
        ValueError: naming the key, the value and what is allowed, in one line: ``nproc`` or ``world_size`` not a
            positive integer, ``offset + nproc > world_size``, a ``port`` outside [1, 65535] (or none for several
            machines), ``cuda:<index>`` or more processes than CUDA devices with ``nproc`` > 1.
    """
    nproc = _integer(config, 'nproc', 1, 1)
    world = config['world_size']
    world_size = nproc if world is None or world == -1 else _integer(config, 'world_size', nproc, 1)
    offset = _integer(config, 'offset', 0, 0)
    if offset + nproc > world_size:
        raise ValueError(f"Expected 'offset' + 'nproc' <= 'world_size' (got offset={offset}, nproc={nproc}, "
                         f"world_size={world_size})")
    port = None if config['port'] is None else _integer(config, 'port', 0, 1, 65535)
    if port is None and world_size > nproc:
        raise ValueError(f"Expected a 'port' (of the machine of rank 0, with its 'ip') for a run on several machines "
                         f"(got world_size={world_size} > nproc={nproc} and no port)")
    device = torch.device(config['device'])
    if device.type == 'cuda' and nproc > 1 and not distributed.is_distributed():  # checked before the ranks start
        if device.index is not None:
            raise ValueError(f"Expected 'device' 'cuda' with nproc > 1: process i of a machine uses cuda:i "
                             f"(got {config['device']}; restrict the devices with CUDA_VISIBLE_DEVICES)")
        if nproc > torch.cuda.device_count():
            raise ValueError(f"Expected 'nproc' <= {torch.cuda.device_count()} CUDA devices (got {nproc}; use "
                             f"'device: cpu' for Gloo processes on the CPU)")
    return Launch(nproc, world_size, offset, str(config['ip'] or 'localhost'), port,
                  'nccl' if device.type == 'cuda' else 'gloo')


def config_files(model_name: str, dataset: str) -> List[str]:
    r"""The project's YAML files for ``model_name`` on ``dataset`` that exist, lowest precedence first."""
    candidates = [CONFIG_DIR / 'base.yaml', MODEL_CONFIG_DIR / f'{model_name}.yaml',
                  CONFIG_DIR / f'{dataset}.yaml', CONFIG_DIR / f'{model_name}-{dataset}.yaml']
    return [str(p) for p in candidates if p.is_file()]


def model_config_files(model: type) -> List[str]:
    r"""The default YAML files of ``model`` and of its recsys base classes (``recsys/models/<Class>.yaml``),
    lowest precedence (most general class) first: what RecBole's own ``Config`` loads for a recsys model, in
    place of the ``properties/model/<Model>.yaml`` its stock models have (applied by :mod:`recsys.compat`)."""
    files = []
    for cls in reversed(getattr(model, '__mro__', ())):
        path = MODEL_CONFIG_DIR / f'{cls.__name__}.yaml'
        if cls.__module__.startswith('recsys.') and path.is_file():
            files.append(str(path))
    return files


def _model_columns(model: type) -> Optional[Any]:
    """The ``load_col`` of the most specific of ``model``'s default YAML files that sets one (e.g. ColdStartCL's user
    and item feature columns), else None."""
    for path in reversed(model_config_files(model)):
        columns = read_yaml(path).get('load_col')
        if columns is not None:
            return columns
    return None


def read_yaml(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    r"""The mapping of a YAML config file (empty file: ``{}``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not valid YAML, or not a mapping of keys, in one line naming the file and the place.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file not found: '{path}'")
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.load(f, Loader=yaml.FullLoader)  # the loader RecBole's Config uses
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark is not None else ''
        problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
        raise ValueError(f"config file '{path}' is not valid YAML: {problem}{where}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"config file '{path}' is not UTF-8 text ({exc.reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file '{path}' must be a mapping of 'key: value' lines (got a "
                         f"{type(data).__name__})")
    return data


def build_config(model: type, dataset: str = 'ml-100k', config_dict: Optional[Dict[str, Any]] = None,
                 config_file_list: Optional[Iterable[Union[str, os.PathLike]]] = None,
                 data: Optional[Dict[str, Any]] = None) -> RecsysConfig:
    r"""Resolve the configuration of ``model`` (a RecBole model class) on ``dataset``.

    Args:
        model (type): the model class.
        dataset (str): dataset name (see :data:`recsys.data.DATASETS`).
        config_dict (dict, optional): highest-precedence overrides. (default: :obj:`None`)
        config_file_list (list of path, optional): user YAML files. (default: :obj:`None`)
        data (dict, optional): dataset location entries; by default :func:`recsys.data.dataset_config`, or none
            when the user gives ``data_path`` (YAML file or ``config_dict``): the dataset is then the user's
            atomic files, whatever its name. (default: :obj:`None`)

    Raises:
        FileNotFoundError: a config file, the ``data_path`` folder or ``<dataset>.inter`` is missing.
        ValueError: an unknown dataset, a broken YAML file or a bad value (:func:`check_config`).
    """
    from .data import MAX_MALFORMED, dataset_config, resolve_dataset
    user_files = [str(f) for f in (config_file_list or [])]
    settings: Dict[str, Any] = {}
    for f in user_files:
        settings.update(read_yaml(f))
    settings.update(config_dict or {})
    own_data = data is None and settings.get('data_path') is not None
    if not own_data:
        dataset = resolve_dataset(dataset)
    files = config_files(model.__name__, dataset)
    defaults: Dict[str, Any] = {}
    for f in files:
        defaults.update(read_yaml(f))
    files += user_files
    if data is None and not own_data:
        strict = settings.get('seqrec_strict', defaults.get('seqrec_strict', False))
        limit = settings.get('seqrec_max_malformed', defaults.get('seqrec_max_malformed', MAX_MALFORMED))
        if not isinstance(strict, bool):
            raise ValueError(f"Expected 'seqrec_strict' to be True or False (got {strict!r})")
        data = dataset_config(dataset, strict=strict, max_malformed=limit)
    merged = dict(data or {})
    merged.pop('dataset', None)
    model_columns = _model_columns(model)
    if model_columns is not None and 'load_col' not in settings:
        merged['load_col'] = model_columns  # the model's side-information columns, above the dataset's entries
    merged.update(config_dict or {})
    config = RecsysConfig(model=model, dataset=dataset, config_file_list=files, config_dict=merged)
    check_config(config)
    return config


def _integer(config: Any, key: str, default: int, low: int, high: Optional[int] = None) -> int:
    value = config[key]
    if value is None:
        value = default
    span = f'[{low}, {high}]' if high is not None else f'>= {low}'
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not (low <= value and (high is None or value <= high)):
        raise ValueError(f"Expected '{key}' to be an integer {span} (got {value!r})")
    return int(value)


def check_config(config: Any) -> None:
    r"""Check the values RecBole would use silently or fail on late: ``train_stride`` (:func:`train_stride`),
    ``epochs`` (an integer >= 0), the multi-process keys (:func:`launch_settings`), ``valid_metric`` (one of
    ``metrics`` at one of ``topk``), and that ``train_stride`` > 1 is only used with a recsys model (RecBole's
    ``SASRec`` takes its loss at the last position only, so it would train on about :math:`1/s` of the targets).

    Raises:
        ValueError: naming the key, the value and the valid range, in one line.
    """
    stride = train_stride(config)
    _integer(config, 'epochs', 0, 0)
    launch_settings(config)
    metric, metrics, topk = config['valid_metric'], config['metrics'], config['topk']
    if isinstance(metric, str) and '@' in metric and metrics is not None and topk is not None:
        name, _, k = metric.partition('@')
        topk = [topk] if isinstance(topk, int) else list(topk)
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if name.lower() not in [str(m).lower() for m in metrics] or not k.isdigit() or int(k) not in topk:
            raise ValueError(f"Expected 'valid_metric' to be one of the computed metrics (got '{metric}' with "
                             f"metrics {metrics} and topk {topk})")
    model_class = getattr(config, 'model_class', None)
    if stride > 1 and model_class is not None:
        from .models import SASRecBackbone
        if not issubclass(model_class, SASRecBackbone):
            raise ValueError(f"'train_stride' > 1 needs a recsys model (SASRecBackbone, CL4SRec, MCLRec, ICSRec); "
                             f"{model_class.__name__} takes its loss at the last position only and would train "
                             f"on about 1/{stride} of the targets (got train_stride={stride}; use 1)")


def train_stride(config: Any) -> int:
    r"""The config's ``train_stride`` :math:`s` (unset: 1, every prefix), checked to lie in
    :math:`[1, \text{MAX\_ITEM\_LIST\_LENGTH}]` (a larger stride would skip targets)."""
    longest = int(config['MAX_ITEM_LIST_LENGTH'])
    value = config['train_stride']
    if value is None:
        return 1
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not 1 <= value <= longest:
        raise ValueError(f"Expected 'train_stride' to be an integer in [1, MAX_ITEM_LIST_LENGTH = {longest}] "
                         f"(got {value!r})")
    return int(value)


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
