"""Linear probe: logistic regression on frozen embeddings, the standard GCL node-classification protocol."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class ProbeResult:
    """Test accuracy (at the best validation epoch) for each split, with mean and std."""

    accuracies: list[float]
    val_accuracies: list[float]
    protocol: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies))

    def as_dict(self) -> dict:
        return {"accuracy_mean": self.mean, "accuracy_std": self.std, "accuracies": self.accuracies,
                "val_accuracies": self.val_accuracies, "protocol": self.protocol}


def random_split(num_nodes: int, train_ratio: float = 0.1, val_ratio: float = 0.1, seed: int = 0
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """Random train/val/test node indices (10/10/80 by default), seeded."""
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1 and train_ratio + val_ratio < 1):
        raise ValueError(f"Need 0 < train_ratio, 0 <= val_ratio and train_ratio + val_ratio < 1 "
                         f"(got train_ratio={train_ratio}, val_ratio={val_ratio})")
    perm = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(round(train_ratio * num_nodes)), int(round(val_ratio * num_nodes))
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def _fit_logreg(x: Tensor, y: Tensor, train: Tensor, val: Tensor, test: Tensor, num_classes: int, epochs: int,
                lr: float, weight_decay: float, seed: int) -> tuple[float, float]:
    """Full-batch logistic regression with Adam on ``x``'s device; returns (best val acc, test acc at that epoch)."""
    train, val, test = (idx.to(x.device) for idx in (train, val, test))
    torch.manual_seed(seed)
    clf = torch.nn.Linear(x.size(1), num_classes).to(x.device)
    opt = torch.optim.Adam(clf.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, test_at_best = -1.0, 0.0
    for _ in range(epochs):
        clf.train()
        opt.zero_grad()
        F.cross_entropy(clf(x[train]), y[train]).backward()
        opt.step()
        with torch.no_grad():
            pred = clf(x).argmax(dim=1)
            val_acc = (pred[val] == y[val]).float().mean().item() if len(val) else 0.0
            if val_acc >= best_val:  # ties: the later (longer-trained) epoch
                best_val, test_at_best = val_acc, (pred[test] == y[test]).float().mean().item()
    return best_val, test_at_best


def linear_probe(embeddings: Tensor | np.ndarray, labels: Tensor | np.ndarray, num_splits: int = 5,
                 train_ratio: float = 0.1, val_ratio: float = 0.1, seed: int = 0, epochs: int = 300,
                 lr: float = 0.01, weight_decay: float = 0.0, normalize: bool = True,
                 public_split: tuple[Tensor, Tensor, Tensor] | None = None) -> ProbeResult:
    r"""Linear-probe node classification on frozen embeddings.

    A logistic regression :math:`\hat y = \mathrm{softmax}(W h + b)` is trained with cross-entropy on the train
    nodes; the test accuracy is read at the epoch of best validation accuracy (model selection on validation only).
    Splits are random ``train_ratio/val_ratio/rest`` (10/10/80, GRACE's and CSGCL's protocol), one per seed
    ``seed, seed+1, ...``; with ``public_split`` the given masks are used once.

    Args:
        embeddings: :math:`(N, D)` frozen node embeddings.
        labels: :math:`(N)` integer classes.
        num_splits: number of random splits.
        normalize: L2-normalise embedding rows first (as GRACE's evaluation does).
    """
    x = torch.as_tensor(np.asarray(embeddings) if not isinstance(embeddings, Tensor) else embeddings).float()
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, Tensor) else labels).long().to(x.device)
    if x.dim() != 2 or y.dim() != 1 or x.size(0) != y.size(0):
        raise ValueError(f"Expected embeddings (N, D) and labels (N) (got {tuple(x.shape)} and {tuple(y.shape)})")
    if not torch.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    x = x.detach()
    if normalize:
        x = F.normalize(x, dim=1)
    num_classes = int(y.max()) + 1
    accs, vals = [], []
    if public_split is not None:
        v, t = _fit_logreg(x, y, *public_split, num_classes, epochs, lr, weight_decay, seed)
        return ProbeResult([t], [v], "public split")
    for k in range(num_splits):
        split = random_split(x.size(0), train_ratio, val_ratio, seed + k)
        v, t = _fit_logreg(x, y, *split, num_classes, epochs, lr, weight_decay, seed + k)
        accs.append(t)
        vals.append(v)
    protocol = (f"random {train_ratio:.0%}/{val_ratio:.0%}/{1 - train_ratio - val_ratio:.0%} splits, "
                f"seeds {seed}..{seed + num_splits - 1}, test accuracy at best validation")
    return ProbeResult(accs, vals, protocol)
