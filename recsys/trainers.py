r"""RecBole Trainer subclasses: atomic checkpoints for every model, MCLRec's meta update, ICSRec's per-epoch
intent clustering."""
from __future__ import annotations

import time
from typing import Any, Dict, Iterable, Sequence, Tuple

import torch
import torch.distributed as dist
from recbole.trainer import Trainer
from recbole.utils import set_color
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils.clip_grad import clip_grad_norm_
from tqdm import tqdm

from graphcl.train import atomic_path, distributed

__all__ = ['ICSRecTrainer', 'MCLRecTrainer', 'OptimizerGroup', 'RecTrainer', 'average_gradients']


class RecTrainer(Trainer):
    r"""RecBole's :class:`~recbole.trainer.Trainer` with atomic checkpoint writes (temporary file, then
    ``os.replace``, file mode following the umask), so an interrupted run never leaves a truncated ``.pth``.
    Everything else is RecBole's: one optimiser over all parameters, ``calculate_loss`` per batch, early stopping
    on ``valid_metric``.

    In RecBole's multi-process mode (``single_spec`` False) RecBole wraps the model in DDP; the model's
    non-persistent buffers (data every rank derives itself, such as ICSRec's training subsequences) are kept out of
    DDP's buffer broadcast, which would otherwise send them from rank 0 at every step. Checkpoints are written by
    global rank 0 only, and every rank waits for the write (so all ranks then read the same ``model.pth``)."""

    def __init__(self, config: Any, model: Any):
        if not config['single_spec']:
            saved = set(model.state_dict())
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
                model, [name for name, _ in model.named_buffers() if name not in saved])
        super().__init__(config, model)

    def _save_checkpoint(self, epoch: int, verbose: bool = True, **kwargs: Any) -> None:
        r"""Write RecBole's checkpoint of ``epoch`` to ``saved_model_file`` (default: the trainer's), with the other
        keyword arguments as extra entries (:func:`recsys.pipeline.run` adds ``history`` and ``train_seconds``);
        in a process group, rank 0 writes and every rank returns once it has."""
        if distributed.is_main_process():
            self._write_checkpoint(epoch, verbose, **kwargs)
        distributed.barrier()

    def _write_checkpoint(self, epoch: int, verbose: bool, **kwargs: Any) -> None:
        target = kwargs.pop('saved_model_file', self.saved_model_file)
        state = {  # RecBole's entries, as its Trainer._save_checkpoint writes them
            'config': self.config,
            'epoch': epoch,
            'cur_step': self.cur_step,
            'best_valid_score': self.best_valid_score,
            'state_dict': self.model.state_dict(),
            'other_parameter': self.model.other_parameter(),
            'optimizer': self.optimizer.state_dict(),
            **kwargs,
        }
        with atomic_path(target) as tmp:
            torch.save(state, tmp, pickle_protocol=4)
        if verbose:
            self.logger.info(set_color('Saving current', 'blue') + f': {target}')


class OptimizerGroup:
    r"""Several named optimisers seen as one by RecBole's checkpointing (``state_dict`` /
    ``load_state_dict`` / ``zero_grad``)."""

    def __init__(self, **optimizers: torch.optim.Optimizer):
        if not optimizers:
            raise ValueError("Expected at least one optimizer")
        self.optimizers = optimizers

    def __getitem__(self, name: str) -> torch.optim.Optimizer:
        return self.optimizers[name]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> Dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        missing = set(self.optimizers) - set(state)
        if missing:
            raise ValueError(f"Optimizer state lacks {sorted(missing)} (has {sorted(state)})")
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state[name])

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({", ".join(self.optimizers)})'


def _set_requires_grad(params: Iterable[torch.nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def average_gradients(params: Sequence[torch.nn.Parameter]) -> None:
    r"""Replace the gradients of ``params`` by their mean over the ranks of the process group (no-op without one):
    what DDP does for the modules it wraps, for updates that bypass DDP's forward (MCLRec's three steps). A
    parameter without a gradient on any rank keeps ``None`` (the optimiser then skips it, as in one process); one
    with a gradient on some ranks only counts zeros for the others. One all-reduce per call."""
    if not params or not distributed.is_distributed():
        return
    reference = params[0]
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
                     + [torch.tensor([p.grad is not None for p in params], dtype=reference.dtype,
                                     device=reference.device)])
    dist.all_reduce(flat)
    flat /= distributed.world_size()
    mean, present = flat[:-len(params)], flat[-len(params):]
    for p, chunk, has in zip(params, torch.split(mean, [p.numel() for p in params]), present.tolist()):
        p.grad = chunk.view_as(p).clone() if has > 0 else None


class MCLRecTrainer(RecTrainer):
    r"""The meta update of MCLRec (`Qin et al., SIGIR 2023 <https://arxiv.org/abs/2304.07763>`_), per batch:

    1. augmenters frozen, one step of the encoder optimiser on :math:`L_0`;
    2. augmenters unfrozen, encoder outputs recomputed with the updated encoder, one step of the augmenter
       optimiser (its own Adam, ``augmenter_learning_rate``, default ``learning_rate``) on :math:`L_1`;
    3. augmenters frozen again, one more encoder step on :math:`L_0`.

    The two views of the batch are drawn once and shared by the three steps. With ``joint: True`` the stock
    single-optimiser loop runs on :math:`L_0` over all parameters (the paper's weaker joint variant). The two
    optimisers are checkpointed together (:class:`OptimizerGroup`).

    In RecBole's multi-process mode the three steps bypass DDP's forward: each step averages the gradients of the
    parameters it updates over the ranks (:func:`average_gradients`) before clipping and stepping, so the ranks'
    parameters stay equal (every rank draws its own views of its own shard of the batch).
    """

    def __init__(self, config: Any, model: Any):
        super().__init__(config, model)
        self.joint = bool(config['joint'])
        if not self.joint:
            aug_lr = config['augmenter_learning_rate']
            self.optimizer = OptimizerGroup(
                encoder=self._build_optimizer(params=list(model.encoder_parameters())),
                augmenter=self._build_optimizer(params=list(model.augmenter_parameters()),
                                                learning_rate=self.learning_rate if aug_lr is None else aug_lr))

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list) -> float:
        self._check_nan(loss)
        optimizer.zero_grad()
        loss.backward()
        average_gradients(params)  # the parts of a step DDP does not see: keeps the ranks' parameters equal
        if self.clip_grad_norm:
            clip_grad_norm_(params, **self.clip_grad_norm)
        optimizer.step()
        return loss.item()

    def encoder_step(self, interaction: Any, views: Tuple) -> float:
        """Steps 1 and 3: encoder optimiser on :math:`L_0`, augmenters frozen. Returns the loss."""
        _set_requires_grad(self.model.augmenter_parameters(), False)
        loss = self.model.encoder_loss(interaction, views)
        return self._step(loss, self.optimizer['encoder'], list(self.model.encoder_parameters()))

    def augmenter_step(self, interaction: Any, views: Tuple) -> float:
        """Step 2: augmenter optimiser on :math:`L_1`. Returns the loss."""
        _set_requires_grad(self.model.augmenter_parameters(), True)
        try:
            loss = self.model.augmenter_loss(interaction, views)
            return self._step(loss, self.optimizer['augmenter'], list(self.model.augmenter_parameters()))
        finally:
            _set_requires_grad(self.model.augmenter_parameters(), False)

    def meta_step(self, interaction: Any) -> Tuple[float, float, float]:
        """The three steps on one batch; returns :math:`(L_0, L_1, L_0)` as seen by each step."""
        views = self.model.make_views(interaction)
        return (self.encoder_step(interaction, views), self.augmenter_step(interaction, views),
                self.encoder_step(interaction, views))

    def _train_epoch(self, train_data: Any, epoch_idx: int, loss_func: Any = None,
                     show_progress: bool = False) -> Any:
        if self.joint:
            _set_requires_grad(self.model.augmenter_parameters(), True)
            return super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
        self.model.train()
        iter_data = tqdm(train_data, total=len(train_data), ncols=100,
                         desc=set_color(f'Train {epoch_idx:>5}', 'pink')) if show_progress else train_data
        if not self.config['single_spec'] and train_data.shuffle:  # as RecBole's loop: a new shard order per epoch
            train_data.sampler.set_epoch(epoch_idx)
        total = [0.0, 0.0, 0.0]
        for interaction in iter_data:
            losses = self.meta_step(interaction.to(self.device))
            total = [a + b for a, b in zip(total, losses)]
        return tuple(total)


class ICSRecTrainer(RecTrainer):
    r"""ICSRec's loop (`Qin et al., WSDM 2024 <https://arxiv.org/abs/2310.14318>`_): at the start of every
    training epoch, when the fine-grain weight ``beta`` is non-zero, all training subsequences are encoded and
    clustered by k-means into ``n_intents`` intents (:meth:`recsys.models.ICSRec.fit_intents`); then the stock
    single-optimiser epoch runs on :math:`L_{rec} + \lambda L_{CICL} + \beta L_{FICL}`. In RecBole's multi-process
    mode each rank encodes its share of the subsequences and rank 0 clusters them all (see ``fit_intents``)."""

    def __init__(self, config: Any, model: Any):
        super().__init__(config, model)
        self.kmeans_seconds: Dict[int, float] = {}

    def _train_epoch(self, train_data: Any, epoch_idx: int, loss_func: Any = None,
                     show_progress: bool = False) -> Any:
        if self.model.beta != 0:
            start = time.perf_counter()
            self.model.fit_intents(batch_size=int(self.config['eval_batch_size'] or 4096))
            self.kmeans_seconds[epoch_idx] = time.perf_counter() - start
            self.logger.info(f'epoch {epoch_idx}: k-means over {self.model.train_seq.size(0)} subsequences, '
                             f'K={self.model.intent_centroids.size(0)}, '
                             f'{self.kmeans_seconds[epoch_idx]:.2f}s')
        return super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
