r"""The RecBole pipeline for our models, without ``recbole.quick_start``: config -> dataset -> dataloaders ->
model -> trainer -> full-ranking evaluation.

>>> import recsys
>>> sorted(recsys.MODELS)
['CL4SRec', 'ColdStartCL', 'ICSRec', 'MCLRec', 'SASRec', 'SASRecBackbone']
"""
from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.distributed as dist
from recbole.data import create_dataset, data_preparation
from recbole.data.utils import get_dataloader
from recbole.utils import init_seed

from graphcl.train import distributed, flush_denormals, setup_process, write_text

from . import trainers
from .cli import MODEL_TABLE
from .config import Launch, RecsysConfig, build_config, check_config, launch_settings, to_plain, train_stride
from .trainers import RecTrainer

__all__ = ['MODELS', 'export_topk', 'get_model', 'load_data', 'read_checkpoint', 'run', 'sequences_per_batch',
           'strided_samples', 'trainer_for']

#: Model name -> class, from :data:`recsys.cli.MODEL_TABLE`. ``SASRec`` is RecBole's own, the reference for
#: ``SASRecBackbone``.
MODELS: Dict[str, type] = {name: getattr(importlib.import_module(entry.module), name)
                           for name, entry in MODEL_TABLE.items()}

#: Model class -> Trainer class, for the models not trained by RecBole's loop (:class:`RecTrainer`).
_TRAINERS: List[Tuple[type, type]] = [(MODELS[name], getattr(trainers, entry.trainer))
                                      for name, entry in MODEL_TABLE.items() if entry.trainer != RecTrainer.__name__]


def get_model(name: Union[str, type]) -> type:
    r"""Model class from its name (case-insensitive) or the class itself.

    Raises:
        ValueError: naming the valid models.
    """
    if isinstance(name, type):
        return name
    for key, cls in MODELS.items():
        if key.lower() == str(name).lower():
            return cls
    raise ValueError(f"Unknown model '{name}'. Valid models: {', '.join(MODELS)}")


def trainer_for(model: Union[type, torch.nn.Module]) -> type:
    r"""The Trainer class that implements ``model``'s update rule: :class:`~recsys.trainers.MCLRecTrainer`
    (meta update), :class:`~recsys.trainers.ICSRecTrainer` (per-epoch k-means) or
    :class:`~recsys.trainers.RecTrainer` (RecBole's loop) for everything else."""
    cls = model if isinstance(model, type) else type(model)
    for base, trainer in _TRAINERS:
        if issubclass(cls, base):
            return trainer
    return RecTrainer


def strided_samples(train_data: Any, config: Any) -> Any:
    r"""A training dataloader that keeps, per user, the last training sample (prefix) and every
    ``train_stride``-th one before it (counted from the end), instead of every prefix.

    The models take the loss of a kept sample at its last ``train_stride`` positions, so the kept samples cover
    each training interaction exactly once as a target, and an epoch costs
    :math:`O(\#\text{interactions} / s)` sequences instead of :math:`O(\#\text{interactions})`.
    ``train_batch_size`` keeps counting targets, as with every prefix: a batch holds
    :math:`\max(1, \mathrm{round}(\text{train\_batch\_size} / s))` sequences, so an epoch takes about as many
    optimiser steps, each on about as many targets, as every-prefix training.
    """
    dataset = train_data.dataset
    uid = dataset.inter_feat[dataset.uid_field].numpy()
    n = uid.shape[0]
    if n == 0:
        return train_data
    order = np.lexsort((np.arange(n), uid))  # rows grouped by user, time order kept
    grouped = uid[order]
    is_last = np.r_[grouped[1:] != grouped[:-1], True]
    ends = np.where(is_last, np.arange(n), n)
    group_end = np.minimum.accumulate(ends[::-1])[::-1]
    rank_from_end = group_end - np.arange(n)
    keep = np.sort(order[rank_from_end % train_stride(config) == 0])
    subset = dataset.copy(dataset.inter_feat[torch.from_numpy(keep)])
    loader_config = copy.copy(config)  # the run's config keeps its train_batch_size (in targets)
    loader_config.final_config_dict = dict(config.final_config_dict,
                                           train_batch_size=sequences_per_batch(config))
    return get_dataloader(config, 'train')(loader_config, subset, train_data._sampler, shuffle=config['shuffle'])


def sequences_per_batch(config: Any) -> int:
    r"""Training sequences per batch under ``train_stride`` :math:`s`: ``train_batch_size`` counts targets, and a
    strided sequence carries up to :math:`s` of them."""
    return max(1, round(int(config['train_batch_size']) / train_stride(config)))


def load_data(config: RecsysConfig) -> Tuple[Any, Any, Any, Any]:
    r"""``(dataset, train_data, valid_data, test_data)`` for ``config`` (seeded with ``config['seed']``); with
    ``train_stride`` :math:`s > 1` the training loader keeps every :math:`s`-th sample of each user
    (:func:`strided_samples`).

    Raises:
        ValueError: from :func:`recsys.config.check_config`, e.g. ``train_stride`` > 1 with RecBole's ``SASRec``.
    """
    check_config(config)
    init_seed(config['seed'], config['reproducibility'])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    if train_stride(config) > 1:
        train_data = strided_samples(train_data, config)
    return dataset, train_data, valid_data, test_data


def _plain_metrics(result: Optional[Dict[str, Any]]) -> Dict[str, float]:
    return {} if result is None else {str(k): float(v) for k, v in result.items()}


@torch.no_grad()
def export_topk(model: torch.nn.Module, eval_data: Any, k: int, path: Union[str, os.PathLike]) -> Path:
    r"""Write the top-``k`` items of every user of ``eval_data`` (full ranking, padding excluded) as a TSV
    ``user_id<TAB>item_1 ... item_k`` in original tokens, users in RecBole's order (ascending internal id); written
    atomically. In a process group every rank ranks its shard of the users, and rank 0 writes them all."""
    if k < 1:
        raise ValueError(f"Expected 'k' >= 1 (got {k})")
    dataset = eval_data.dataset
    uid_field, iid_field = dataset.uid_field, dataset.iid_field
    device = next(model.parameters()).device
    model.eval()
    rows: Dict[int, str] = {}  # internal user id -> line
    for batch in eval_data:
        interaction = batch[0].to(device)
        scores = model.full_sort_predict(interaction).view(len(interaction), -1)
        scores[:, 0] = -np.inf
        top = torch.topk(scores, min(k, scores.size(1) - 1), dim=1).indices.cpu().numpy()
        uids = interaction[uid_field].cpu().numpy()
        users = dataset.id2token(uid_field, uids)
        items = dataset.id2token(iid_field, top)
        rows.update((int(i), f'{u}\t{" ".join(map(str, row))}') for i, u, row in zip(uids, users, items))
    if distributed.is_distributed():  # the shards; DistributedSampler repeats a few users to even them out
        shards: List[Optional[Dict[int, str]]] = [None] * distributed.world_size()
        dist.all_gather_object(shards, rows)
        rows = {uid: line for shard in shards for uid, line in shard.items()}
    if distributed.is_main_process():
        write_text(path, '\n'.join([f'{uid_field}\ttop{k}_{iid_field}'] + [rows[u] for u in sorted(rows)]) + '\n')
    return Path(path)


#: Entries of RecBole's checkpoints (``Trainer._save_checkpoint``) that ``Trainer.resume_checkpoint`` reads.
CHECKPOINT_KEYS = ('config', 'epoch', 'cur_step', 'best_valid_score', 'state_dict', 'optimizer')


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"


def read_checkpoint(path: Union[str, os.PathLike], config: Any) -> Dict[str, Any]:
    r"""The RecBole checkpoint ``path`` (a run's ``last.pth``), checked for resuming the run of ``config``: a
    checkpoint of the same model and dataset that has trained at most ``config['epochs']`` epochs.

    Besides RecBole's entries (:data:`CHECKPOINT_KEYS`, ``other_parameter``), checkpoints written by :func:`run` hold
    ``history`` (every validated epoch so far) and ``train_seconds`` (training time so far, every segment).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: in one line: not a readable RecBole checkpoint (truncated, another format), a checkpoint of
            another model or dataset, or one that has trained more than ``config['epochs']`` epochs (resuming would
            relabel it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Cannot resume: {path} is missing (the run stopped before its first validated "
                                f"epoch): start it again with --out {path.parent} --overwrite")
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=False)  # RecBole pickles its Config
    except Exception as err:  # truncated, not a torch file, pickled classes that do not exist here
        raise ValueError(f"Cannot resume: {path} is not a readable checkpoint ({_first_line(err)})") from err
    missing = [key for key in CHECKPOINT_KEYS if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise ValueError(f"Cannot resume: {path} is not a RecBole checkpoint (no {', '.join(missing)})")
    try:  # RecBole's Config, or a dict
        saved_model, saved_dataset = checkpoint['config']['model'], checkpoint['config']['dataset']
    except (KeyError, TypeError, IndexError):
        saved_model = saved_dataset = None
    if str(saved_model).lower() != str(config['model']).lower() or saved_dataset != config['dataset']:
        raise ValueError(f"Cannot resume: {path} is a checkpoint of {saved_model} on {saved_dataset}, not of "
                         f"{config['model']} on {config['dataset']}")
    trained = int(checkpoint['epoch']) + 1
    if int(config['epochs']) < trained:
        raise ValueError(f"Cannot resume: {path.parent} has trained {trained} epochs already; --epochs "
                         f"{config['epochs']} would relabel it: give at least {trained}")
    return checkpoint


def _earlier_segments(resume: Union[str, os.PathLike],
                      checkpoint: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], float]:
    """History and training seconds of a resumed run up to its checkpoint: the checkpoint's, or for a checkpoint
    written before it held them, those of the run's ``metrics.json`` when that ends at the checkpoint's epoch."""
    if 'history' in checkpoint:
        return list(checkpoint['history']), float(checkpoint.get('train_seconds', 0.0))
    try:
        metrics = json.loads((Path(resume).parent / 'metrics.json').read_text())
        if int(metrics['epochs_run']) == int(checkpoint['epoch']) + 1:
            return list(metrics['history']), float(metrics['train_time_s'])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return [], 0.0


def _spawn(launch: Launch, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Run :func:`run` (``kwargs``) in ``launch.nproc`` new processes of one process group and return the result of
    this machine's first; the exception of the first process that failed is raised here."""
    import torch.multiprocessing as mp
    launch = launch._replace(port=launch.port or distributed.free_port(launch.ip))
    root = logging.getLogger()
    logs = [(h.baseFilename, h.formatter) for h in root.handlers if isinstance(h, logging.FileHandler)]
    threads = max(1, torch.get_num_threads() // launch.nproc)  # this process's CPU threads, shared by the ranks
    with tempfile.TemporaryDirectory(prefix='recsys-ranks-') as exchange:
        try:
            mp.start_processes(_run_rank, args=(launch, threads, logs, root.level, exchange, kwargs),
                               nprocs=launch.nproc, start_method='spawn')
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as err:
            errors = [pickle.loads(path.read_bytes()) for path in Path(exchange).glob('error-*.pkl')]
            if errors:
                raise min(errors, key=lambda e: e[0])[1] from err
            raise
        return pickle.loads((Path(exchange) / 'result.pkl').read_bytes())


def _run_rank(local_rank: int, launch: Launch, threads: int, logs: List[Tuple[str, Any]], level: int,
              exchange: str, kwargs: Dict[str, Any]) -> None:
    """One process of :func:`_spawn`: joins the process group (torchrun's environment variables, read by
    :func:`graphcl.train.distributed.init_from_env`), logs to the parent's log files from global rank 0, runs
    :func:`run` and leaves the result (first process of the machine) or its exception in ``exchange``."""
    setup_process(threads)
    rank = launch.offset + local_rank
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(launch.world_size),
                      MASTER_ADDR=launch.ip, MASTER_PORT=str(launch.port))
    if rank == 0:
        root = logging.getLogger()
        root.setLevel(level)
        for filename, formatter in logs:
            handler = logging.FileHandler(filename)
            handler.setFormatter(formatter)
            root.addHandler(handler)
    try:
        distributed.init_from_env(launch.backend)
        result = run(**kwargs)
        if local_rank == 0:
            (Path(exchange) / 'result.pkl').write_bytes(pickle.dumps(result))
    except Exception as err:
        try:
            report = pickle.dumps((time.time(), err))
        except Exception:  # an exception that does not pickle: its type and message
            report = pickle.dumps((time.time(), RuntimeError(f'{type(err).__name__}: {err}')))
        (Path(exchange) / f'error-{rank}.pkl').write_bytes(report)
        raise
    finally:
        distributed.shutdown()


def run(model: Union[str, type], dataset: str = 'ml-100k', config_dict: Optional[Dict[str, Any]] = None,
        config_files: Optional[Iterable[Union[str, os.PathLike]]] = None, *,
        out_dir: Optional[Union[str, os.PathLike]] = None, saved: bool = True,
        resume: Optional[Union[str, os.PathLike]] = None, export_topk_k: Optional[int] = None,
        epoch_callback: Optional[Callable[[Dict[str, Any]], None]] = None) -> Dict[str, Any]:
    r"""Train and evaluate ``model`` on ``dataset`` with RecBole's data pipeline and our trainers.

    With ``nproc`` > 1 (or ``world_size`` > 1; RecBole's multi-process keys, :func:`recsys.config.launch_settings`)
    the run takes place in ``nproc`` new processes of one process group (started with ``spawn``; Gloo on the CPU,
    NCCL on CUDA), RecBole's multi-process mode: the model is wrapped in DDP, each rank trains on its shard of every
    epoch (``DistributedSampler``, ``train_batch_size / world_size`` samples per rank and step), validation and test
    metrics are averaged over the ranks' shards, global rank 0 writes the checkpoints (and ``topk.tsv``) and calls
    ``epoch_callback``, which must then be picklable. The result is that of this machine's first process. As with
    any ``spawn``, a script that calls it needs an ``if __name__ == '__main__':`` guard.

    Args:
        model (str or type): a name from :data:`MODELS` or a RecBole model class.
        dataset (str, optional): see :data:`recsys.data.DATASETS`. (default: :obj:`'ml-100k'`)
        config_dict (dict, optional): highest-precedence config entries. (default: :obj:`None`)
        config_files (list of path, optional): user YAML files. (default: :obj:`None`)
        out_dir (path, optional): where checkpoints go (``model.pth`` = best validation, ``last.pth`` = last
            validated epoch); a temporary folder, deleted afterwards, when :obj:`None`. (default: :obj:`None`)
        saved (bool, optional): keep the best-validation checkpoint and evaluate it (else the final weights).
            (default: :obj:`True`)
        resume (path, optional): a ``last.pth`` to continue from, checked by :func:`read_checkpoint`; training
            continues at its next epoch. (default: :obj:`None`)
        export_topk_k (int, optional): also write ``topk.tsv`` (test users) into ``out_dir``. (default: :obj:`None`)
        epoch_callback (callable, optional): called with each history record (see below). (default: :obj:`None`)

    Returns:
        dict: ``model``, ``dataset``, ``valid`` and ``test`` (metric -> value, best checkpoint), ``best_valid_score``,
        ``best_epoch`` (over every segment of a resumed run), ``epochs_run`` (epochs trained in total, resumed ones
        included), ``history`` (per validated epoch of this call: ``epoch``, ``valid_score``, ``train_loss``,
        ``elapsed_s`` since this call started training), ``train_time_s`` (this call's), ``all_segments`` (the
        ``history`` and ``train_time_s`` of the whole run, earlier segments of a resumed run included, their
        ``elapsed_s`` counted from the start of the first), ``checkpoint``, ``config`` (resolved, plain types) and
        ``n_train_samples``.

    Raises:
        FileNotFoundError, ValueError: a bad config (:func:`~recsys.config.build_config`) or ``resume`` checkpoint
            (:func:`read_checkpoint`, or weights that do not fit the model).
    """
    model_cls = get_model(model)
    config = build_config(model_cls, dataset, config_dict, config_files)
    checkpoint = read_checkpoint(resume, config) if resume is not None else {}
    launch = launch_settings(config)
    tmp_dir = None
    if out_dir is None:
        tmp_dir = tempfile.TemporaryDirectory(prefix='recsys-')
        out = Path(tmp_dir.name)
    else:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
    config['checkpoint_dir'] = str(out)
    try:
        if launch.world_size > 1 and not distributed.is_distributed():
            result = _spawn(launch, dict(model=model_cls, dataset=dataset, config_dict=config_dict,
                                         config_files=config_files, out_dir=out, saved=saved, resume=resume,
                                         export_topk_k=export_topk_k, epoch_callback=epoch_callback))
            return dict(result, checkpoint=None if tmp_dir is not None else result['checkpoint'])
        _, train_data, valid_data, test_data = load_data(config)
        init_seed(config['seed'] + distributed.rank(), config['reproducibility'])  # as RecBole: DDP then
        net = model_cls(config, train_data.dataset).to(config['device'])  # broadcasts rank 0's weights
        trainer = trainer_for(net)(config, net)
        best_path, last_path = out / 'model.pth', out / 'last.pth'
        if resume is not None:
            try:
                trainer.resume_checkpoint(str(resume))
            except (RuntimeError, KeyError, ValueError) as err:  # another architecture, item count or optimiser
                raise ValueError(f"Cannot resume: {resume} does not fit this run's model "
                                 f"({_first_line(err)})") from err
        trainer.saved_model_file = str(best_path)

        earlier, before = _earlier_segments(resume, checkpoint) if resume is not None else ([], 0.0)
        history: List[Dict[str, Any]] = []
        start = time.perf_counter()

        def whole_run() -> List[Dict[str, Any]]:
            return earlier + [dict(h, elapsed_s=before + h['elapsed_s']) for h in history]

        def on_epoch(epoch_idx: int, valid_score: float) -> None:
            record = {'epoch': int(epoch_idx), 'valid_score': float(valid_score),
                      'train_loss': float(trainer.train_loss_dict.get(epoch_idx, float('nan'))),
                      'elapsed_s': time.perf_counter() - start}
            history.append(record)
            if saved:
                trainer._save_checkpoint(epoch_idx, verbose=False, saved_model_file=str(last_path),
                                         history=whole_run(), train_seconds=before + record['elapsed_s'])
            if epoch_callback is not None and distributed.is_main_process():
                epoch_callback(record)

        # with nothing left to train, RecBole's fit() would save the current weights as the best checkpoint
        fit_saves = saved and trainer.start_epoch < trainer.epochs
        with flush_denormals():  # as graphcl.train.fit: subnormals flushed while training (docs/speed.md)
            best_score, _ = trainer.fit(train_data, valid_data, saved=fit_saves,
                                        show_progress=bool(config['show_progress']), callback_fn=on_epoch)
        train_time = time.perf_counter() - start
        load_best = saved and best_path.is_file()
        valid = trainer.evaluate(valid_data, load_best_model=load_best)
        test = trainer.evaluate(test_data, load_best_model=load_best)
        if export_topk_k:
            export_topk(net, test_data, int(export_topk_k), out / 'topk.tsv')
        best_epoch = None
        every = whole_run()
        if every:
            scores = [h['valid_score'] for h in every]
            best_epoch = every[int(np.argmax(scores) if config['valid_metric_bigger'] else np.argmin(scores))][
                'epoch']
        return {
            'model': model_cls.__name__,
            'dataset': config['dataset'],
            'valid': _plain_metrics(valid),
            'test': _plain_metrics(test),
            'best_valid_score': float(best_score) if best_score is not None else None,
            'best_epoch': best_epoch,
            'epochs_run': (max(trainer.train_loss_dict) + 1) if trainer.train_loss_dict else trainer.start_epoch,
            'history': history,
            'train_time_s': train_time,
            'all_segments': {'history': every, 'train_time_s': before + train_time},
            'checkpoint': str(best_path) if (load_best and tmp_dir is None) else None,
            'n_train_samples': len(train_data.dataset),
            # mean gate weight per field, for models with an adaptive feature gate (ColdStartCL)
            **({'field_importance': net.field_importance()} if hasattr(net, 'field_importance') else {}),
            'config': to_plain(dict(config.final_config_dict)),
        }
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
