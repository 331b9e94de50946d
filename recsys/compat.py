r"""Make `RecBole 1.2.1 <https://recbole.io>`_ work on today's stack (numpy 2, torch >= 2.6, pandas 3, no ray).

RecBole 1.2.1 (the newest release) was written for numpy 1, torch < 2.6 and pandas < 3. This module patches the
few places we rely on, once. ``import recsys`` alone patches nothing (it imports neither torch nor RecBole): the
patches are applied on first use of our models, i.e. by the first import of one of our modules that uses RecBole
(``recsys.MCLRec``, ``recsys.run``, ``from recsys.pipeline import ...``). Code that uses RecBole alone, or imports
RecBole before our models, calls :func:`apply` first.

What is patched and why:

* **numpy 2** removed ``np.float_``, ``np.complex_``, ``np.unicode_`` (and ``np.string_``, ``np.NaN``, ``np.Inf``).
  ``Config.compatibility_settings`` reads them, so :func:`alias_numpy` restores them as aliases of their numpy 2
  spellings (``float64``, ``complex128``, ``str_``, ...) *before* RecBole is imported.
* **ray**: ``recbole.quick_start`` imports ``ray.tune`` (pinned ``<= 2.6.3``, broken on numpy 2). We never import
  ``recbole.quick_start``; the pipeline is assembled from ``Config`` / ``create_dataset`` / ``data_preparation`` /
  ``Trainer`` in :mod:`recsys.pipeline`.
* **torch >= 2.6** made ``torch.load(weights_only=True)`` the default; RecBole's checkpoints pickle the whole
  ``Config``, so ``Trainer.evaluate(load_best_model=True)`` and ``Trainer.resume_checkpoint`` fail. Inside
  ``recbole.trainer.trainer`` only, ``torch.load`` defaults to ``weights_only=False``. That unpickles arbitrary
  objects: load only checkpoints you (or this library) wrote.
* ``torch.cuda.amp.GradScaler`` is deprecated (a ``FutureWarning`` per epoch): the trainer gets
  ``torch.amp.GradScaler('cuda', ...)`` instead, same behaviour.
* **TensorBoard**: ``Trainer.__init__`` always opens a ``SummaryWriter`` under ``./log_tensorboard`` in the current
  directory. The writer is a no-op unless :func:`set_tensorboard_dir` names a folder.
* **autograd anomaly mode**: ``recbole/model/sequential_recommender/sine.py`` calls
  ``torch.autograd.set_detect_anomaly(True)`` at import time, for the whole process (every backward then checks
  every tensor for NaN: training measured 1.4-2x slower). The anomaly setting in force before RecBole's model
  package is imported is restored afterwards (if RecBole's models were imported before :func:`apply`, anomaly
  mode is switched off with a warning).
* **Custom models' defaults**: RecBole's ``Config`` reads a model's defaults from its own
  ``properties/model/<Model>.yaml``, which recsys models do not have, so ``Config(model=MCLRec, dataset=...,
  config_dict=...)``, the way RecBole documents custom models, gave ``None`` for ``n_layers`` and friends (a
  ``TypeError`` in the model). ``Config._load_internal_config_dict`` also loads
  :func:`recsys.config.model_config_files` for a recsys model, at the model-file level of RecBole's order
  (user files, dictionaries and the command line still win).
* **DDP on the CPU**: ``AbstractTrainer.__init__`` wraps the model in ``DistributedDataParallel(model,
  device_ids=[local_rank])``, which torch refuses for a CPU module (``device_ids`` is for single-device CUDA
  modules), so RecBole's multi-process mode ran on CUDA only. Inside ``recbole.trainer.trainer`` only, the wrapper
  drops ``device_ids`` when the model is not on CUDA (Gloo processes; :class:`recsys.config.RecsysConfig` starts the
  process group with Gloo there instead of RecBole's NCCL-only ``Config._init_device``).
* **pandas 3** turned ``df[col].fillna(..., inplace=True)`` (chained assignment) into a silent no-op, which breaks
  ``Dataset._fill_nan``; it is replaced by an assignment-based equivalent (identical results on pandas 2).

Everything is idempotent; :func:`apply` can be called any number of times.

>>> import recsys.compat as compat
>>> compat.apply()
>>> import numpy as np
>>> np.float_ is np.float64
True
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any, Optional

import numpy as np

__all__ = [
    'RECBOLE_VERSION',
    'alias_numpy',
    'apply',
    'is_applied',
    'require_recbole',
    'recbole_dataset_example_dir',
    'set_tensorboard_dir',
]

#: The RecBole release this layer was written and tested against.
RECBOLE_VERSION = '1.2.1'

# name removed in numpy 2 -> name of the numpy 2 object it aliased
_NUMPY_ALIASES = {
    'float_': 'float64',
    'complex_': 'complex128',
    'unicode_': 'str_',
    'string_': 'bytes_',
    'NaN': 'nan',
    'Inf': 'inf',
}

_applied = False
_tensorboard_dir: Optional[str] = None


def alias_numpy(module: Any = np) -> list[str]:
    r"""Restore the aliases numpy 2 removed (``float_``, ``complex_``, ``unicode_``, ``string_``, ``NaN``, ``Inf``).

    Only missing names are added; existing ones are never overwritten.

    Args:
        module (module, optional): the numpy module (or a stand-in, for tests). (default: :obj:`numpy`)

    Returns:
        list[str]: the names that were added.
    """
    added = []
    for old, new in _NUMPY_ALIASES.items():
        if old in vars(module):
            continue
        try:
            getattr(module, old)
            continue  # provided by a module-level __getattr__ (numpy 1.x keeps these)
        except AttributeError:
            pass
        setattr(module, old, getattr(module, new))
        added.append(old)
    return added


def require_recbole() -> types.ModuleType:
    r"""Import and return :mod:`recbole`, raising a clear :class:`ImportError` if it is not installed."""
    if importlib.util.find_spec('recbole') is None:
        raise ImportError(
            f"recsys needs RecBole {RECBOLE_VERSION}, which is not installed. Install it with "
            f"`pip install recbole=={RECBOLE_VERSION}` (do not install `ray`: recsys does not use "
            f"recbole.quick_start)."
        )
    import recbole
    version = getattr(recbole, '__version__', '?')
    if version != RECBOLE_VERSION:
        import warnings
        warnings.warn(f"recsys.compat was written for RecBole {RECBOLE_VERSION} (found {version}); the "
                      f"patches may not fit.", RuntimeWarning, stacklevel=2)
    return recbole


def recbole_dataset_example_dir() -> str:
    r"""Folder of the datasets shipped inside the RecBole wheel (``ml-100k`` lives there)."""
    recbole = require_recbole()
    return os.path.join(os.path.dirname(os.path.abspath(recbole.__file__)), 'dataset_example')


def set_tensorboard_dir(path: Optional[str]) -> None:
    r"""Send the TensorBoard events of Trainers created from now on to ``path`` (``None``: discard them)."""
    global _tensorboard_dir
    _tensorboard_dir = None if path is None else str(path)


class _NullWriter:
    """A stand-in for ``SummaryWriter`` that drops everything."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _get_tensorboard(logger: Any) -> Any:
    if _tensorboard_dir is None:
        return _NullWriter()
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(_tensorboard_dir)


class _TorchForTrainer(types.ModuleType):
    """``torch`` as seen by ``recbole.trainer.trainer``: identical except ``load`` keeps the pre-2.6 default."""

    def __init__(self, torch_module: types.ModuleType):
        super().__init__('torch')
        self._torch = torch_module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def load(self, *args: Any, **kwargs: Any) -> Any:
        # RecBole's own checkpoints pickle the Config object: they need the full unpickler.
        kwargs.setdefault('weights_only', False)
        return self._torch.load(*args, **kwargs)


class _AmpForTrainer(types.ModuleType):
    """``torch.cuda.amp`` as seen by ``recbole.trainer.trainer``, with the non-deprecated ``GradScaler``."""

    def __init__(self, torch_module: types.ModuleType):
        super().__init__('torch.cuda.amp')
        self._torch = torch_module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch.cuda.amp, name)

    def GradScaler(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - mirrors torch's name
        return self._torch.amp.GradScaler('cuda', *args, **kwargs)


def _ddp_for_trainer(module: Any, device_ids: Optional[list] = None, **kwargs: Any) -> Any:
    """``DistributedDataParallel`` as ``recbole.trainer.trainer`` builds it, without ``device_ids`` for a module that
    is not on CUDA (torch accepts them for single-device CUDA modules only)."""
    from torch.nn.parallel import DistributedDataParallel
    if next(module.parameters()).device.type != 'cuda':
        device_ids = None
    return DistributedDataParallel(module, device_ids=device_ids, **kwargs)


def _fill_nan(self: Any) -> None:
    """``Dataset._fill_nan`` without chained ``inplace=True`` (a no-op on pandas 3)."""
    from recbole.utils import FeatureType
    for feat_name in self.feat_name_list:
        feat = getattr(self, feat_name)
        for field in feat:
            ftype = self.field2type[field]
            if ftype == FeatureType.TOKEN:
                feat[field] = feat[field].fillna(value=0)
            elif ftype == FeatureType.FLOAT:
                feat[field] = feat[field].fillna(value=feat[field].mean())
            else:
                dtype = np.int64 if ftype == FeatureType.TOKEN_SEQ else np.float64
                feat[field] = feat[field].apply(
                    lambda x, dtype=dtype: np.array([], dtype=dtype) if isinstance(x, float) else x)


def _load_internal_config_dict(original: Any) -> Any:
    """``Config._load_internal_config_dict`` that also loads the default YAML files of a recsys model."""
    if getattr(original, '_recsys_patched', False):
        return original

    def load(self: Any, model: Any, model_class: Any, dataset: Any) -> None:
        original(self, model, model_class, dataset)
        from .config import model_config_files
        for file in model_config_files(model_class):  # [] for RecBole's own models
            self._update_internal_config_dict(file)

    load._recsys_patched = True
    return load


def apply() -> None:
    r"""Apply every patch (idempotent). Called by ``import recsys``."""
    global _applied
    if _applied:
        return
    alias_numpy(np)
    require_recbole()
    import torch
    sine_seen = 'recbole.model.sequential_recommender.sine' in sys.modules
    anomaly = torch.is_anomaly_enabled()
    importlib.import_module('recbole.model.sequential_recommender')  # imports sine.py, which enables anomaly mode
    if sine_seen and anomaly:
        import warnings
        warnings.warn("autograd anomaly detection is on, most likely switched on by RecBole's sine.py (imported "
                      "before recsys); recsys turns it off. Call torch.autograd.set_detect_anomaly(True) after "
                      "`import recsys` to keep it.", RuntimeWarning, stacklevel=2)
        anomaly = False
    torch.autograd.set_detect_anomaly(anomaly)
    trainer_module = importlib.import_module('recbole.trainer.trainer')
    if not isinstance(trainer_module.torch, _TorchForTrainer):
        trainer_module.torch = _TorchForTrainer(torch)
    if hasattr(torch, 'amp') and hasattr(torch.amp, 'GradScaler'):
        trainer_module.amp = _AmpForTrainer(torch)
    trainer_module.get_tensorboard = _get_tensorboard
    trainer_module.DistributedDataParallel = _ddp_for_trainer
    config_class = importlib.import_module('recbole.config.configurator').Config
    config_class._load_internal_config_dict = _load_internal_config_dict(config_class._load_internal_config_dict)
    dataset_module = importlib.import_module('recbole.data.dataset.dataset')
    dataset_module.Dataset._fill_nan = _fill_nan
    _applied = True


def is_applied() -> bool:
    r"""Whether :func:`apply` has run in this process."""
    return _applied
