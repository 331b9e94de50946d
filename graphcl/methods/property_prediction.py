"""Molecular property prediction with a (pretrained) molecule encoder: fine-tuning and the frozen linear probe."""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from tqdm.auto import tqdm

from ..eval.molecule_property import linear_probe_properties, property_metrics
from ..losses.property_loss import PropertyLoss

FINETUNE_DEFAULTS: dict[str, Any] = {
    "epochs": 100,          # (int) fine-tuning epochs at most (Hu et al. 2020 and MolCLR: 100)
    "batch_size": 32,       # (int) molecules per step (Hu et al., MolCLR: 32)
    "lr": 1.0e-3,           # (float) Adam learning rate of the prediction head (Hu et al.: 1e-3)
    "encoder_lr": 1.0e-3,   # (float) Adam learning rate of the encoder (0 freezes it: the reference's released code)
    "weight_decay": 0.0,    # (float) Adam weight decay
    "patience": 20,         # (int) stop after this many epochs without a better validation figure
    "dropout": 0.0,         # (float) dropout on the graph embedding before the head
}


class PropertyHead(nn.Module):
    r"""An encoder followed by a linear prediction head: :math:`\hat y = W\,\mathrm{drop}(f(G)) + b`, one output per
    task (logits for classification).

    Args:
        encoder (nn.Module): maps a ``Batch`` to ``[num_graphs, encoder.out_channels]``.
        num_tasks (int): outputs.
        dropout (float, optional): dropout on the graph embedding. (default: :obj:`0.0`)
    """

    def __init__(self, encoder: nn.Module, num_tasks: int, dropout: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.out_channels), int(num_tasks))

    def forward(self, batch: Batch) -> Tensor:
        return self.head(self.dropout(self.encoder(batch)))


def _targets(molecules: Sequence[Data]) -> np.ndarray:
    return torch.cat([m.y.view(1, -1) for m in molecules]).float().numpy()


@torch.no_grad()
def _predict(model: nn.Module, molecules: Sequence[Data], batch_size: int, device: torch.device) -> np.ndarray:
    model.eval()
    out = [model(Batch.from_data_list(list(molecules[i:i + batch_size])).to(device)).float().cpu()
           for i in range(0, len(molecules), batch_size)]
    return torch.cat(out).numpy()


def _better(metric: str, new: float | None, best: float | None) -> bool:
    if new is None or not np.isfinite(new):
        return False
    if best is None:
        return True
    return new > best if metric == "roc_auc" else new < best


def finetune_properties(encoder: nn.Module, molecules: Sequence[Data], split: tuple[np.ndarray, np.ndarray, np.ndarray],
                        task_type: str, config: dict[str, Any] | None = None, seed: int = 0,
                        device: str | torch.device = "cpu", progress: bool = True) -> dict[str, Any]:
    """Fine-tune ``encoder`` with a linear head on the training part of ``molecules`` (prepared for the encoder,
    each with ``y`` ``[1, T]``, NaN = missing) with the masked multi-task loss; evaluate on validation after every
    epoch, keep the weights of the best validation figure (ROC-AUC up, RMSE down; early stopping after
    ``patience`` epochs without improvement) and report validation and test figures of those weights.

    The test part is scored once, at the end: nothing is selected on it. Returns a dict with ``validation`` and
    ``test`` (:func:`graphcl.eval.molecule_property.property_metrics`), ``best_epoch``, ``epochs_run`` and
    ``history`` (training loss and validation figure per epoch).
    """
    cfg = {**FINETUNE_DEFAULTS, **(config or {})}
    device = torch.device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train, valid, test = ([molecules[i] for i in idx] for idx in split)
    num_tasks = int(molecules[0].y.numel())
    model = PropertyHead(copy.deepcopy(encoder), num_tasks, float(cfg["dropout"])).to(device)
    groups = [{"params": model.head.parameters(), "lr": float(cfg["lr"])}]
    if float(cfg["encoder_lr"]) > 0:
        groups.append({"params": model.encoder.parameters(), "lr": float(cfg["encoder_lr"])})
    else:
        model.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam(groups, weight_decay=float(cfg["weight_decay"]))
    loss_fn = PropertyLoss(task_type)
    batch_size = int(cfg["batch_size"])
    y_valid = _targets(valid)
    best, best_state, best_epoch, stale, history = None, None, 0, 0, []
    metric_name = "roc_auc" if task_type == "classification" else "rmse"
    bar = tqdm(range(1, int(cfg["epochs"]) + 1), desc="finetune", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        if float(cfg["encoder_lr"]) == 0:
            model.encoder.eval()  # a frozen encoder keeps its inference behaviour (dropout off)
        perm = torch.randperm(len(train), generator=generator).tolist()
        total, steps = 0.0, 0
        for i in range(0, len(perm), batch_size):
            chunk = [train[j] for j in perm[i:i + batch_size]]
            if len(chunk) < 2:  # batch statistics and Set2Set are ill-defined on one molecule; as the reference
                continue
            batch = Batch.from_data_list(chunk).to(device)
            loss = loss_fn(model(batch), batch.y.view(len(chunk), -1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        val = property_metrics(task_type, y_valid, _predict(model, valid, 256, device))
        history.append({"epoch": epoch, "train_loss": total / max(steps, 1), f"valid_{metric_name}": val["mean"]})
        bar.set_postfix(loss=f"{total / max(steps, 1):.4f}", valid=val["mean"])
        if _better(metric_name, val["mean"], best):
            best, best_epoch, stale = val["mean"], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= int(cfg["patience"]):
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"protocol": "finetune", "selection": f"validation {metric_name}, patience {cfg['patience']}",
            "validation": property_metrics(task_type, y_valid, _predict(model, valid, 256, device)),
            "test": property_metrics(task_type, _targets(test), _predict(model, test, 256, device)),
            "best_epoch": best_epoch, "epochs_run": len(history), "history": history, "config": cfg}


def probe_properties(embed: Callable[[Sequence[Data]], Tensor], molecules: Sequence[Data],
                     split: tuple[np.ndarray, np.ndarray, np.ndarray], task_type: str, seed: int = 0
                     ) -> dict[str, Any]:
    """The frozen linear probe: embeddings of every molecule by ``embed`` (no gradient), then one linear model per
    task on the training part, regularisation chosen on validation
    (:func:`graphcl.eval.molecule_property.linear_probe_properties`)."""
    emb = embed(molecules).float().cpu().numpy()
    y = _targets(molecules)
    parts = [(emb[idx], y[idx]) for idx in split]
    result = dict(linear_probe_properties(*parts, task_type=task_type, seed=seed))
    return {"protocol": "linear", "selection": "validation, per task", "validation": result.pop("valid"), **result}
