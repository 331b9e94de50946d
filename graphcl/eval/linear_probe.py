"""Linear probe: logistic regression on frozen embeddings, the standard GCL node-classification protocol."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: ``(train, val, test)`` node indices or boolean masks.
Split = tuple[Tensor, Tensor, Tensor]


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


def _fixed_splits(public_split: Split, num_nodes: int) -> list[Split]:
    """``(train, val, test)`` as index tensors or boolean masks -> one index triple per split. Boolean masks of shape
    ``(N, S)`` (WikiCS's 20 public train/val splits) give ``S`` splits, column ``s`` each; a 1-D mask or index tensor
    (WikiCS's single test mask) is shared by all of them."""
    masks = [torch.as_tensor(m) for m in public_split]
    for m in masks:
        valid = m.dim() in (1, 2) and m.size(0) == num_nodes if m.dtype == torch.bool else m.dim() == 1
        if not valid:
            raise ValueError(f"Expected each part of 'public_split' to be a boolean mask of shape ({num_nodes}) or "
                             f"({num_nodes}, S), or a 1-D index tensor (got {m.dtype} of shape {tuple(m.shape)})")
    widths = {m.size(1) for m in masks if m.dim() == 2}
    if len(widths) > 1:
        raise ValueError(f"Expected the 2-D masks of 'public_split' to have the same number of columns "
                         f"(got shapes {[tuple(m.shape) for m in masks]})")

    def column(m: Tensor, s: int) -> Tensor:
        if m.dtype != torch.bool:
            return m.long()
        return (m[:, s] if m.dim() == 2 else m).nonzero().view(-1)

    return [tuple(column(m, s) for m in masks) for s in range(widths.pop() if widths else 1)]


def linear_probe(embeddings: Tensor | np.ndarray, labels: Tensor | np.ndarray, num_splits: int = 5,
                 train_ratio: float = 0.1, val_ratio: float = 0.1, seed: int = 0, epochs: int = 300,
                 lr: float = 0.01, weight_decay: float = 0.0, normalize: bool = True,
                 public_split: Split | None = None) -> ProbeResult:
    r"""Linear-probe node classification on frozen embeddings.

    A logistic regression :math:`\hat y = \mathrm{softmax}(W h + b)` is trained with cross-entropy on the train
    nodes; the test accuracy is read at the epoch of best validation accuracy (model selection on validation only).
    Splits are random ``train_ratio/val_ratio/rest`` (10/10/80, GRACE's and CSGCL's protocol), one per seed
    ``seed, seed+1, ...``; with ``public_split`` the dataset's own splits are used instead, and the accuracies are
    averaged over them (WikiCS's 20 public splits, as GCA's and CSGCL's evaluation does).

    Args:
        embeddings: :math:`(N, D)` frozen node embeddings.
        labels: :math:`(N)` integer classes.
        num_splits: number of random splits.
        train_ratio, val_ratio: sizes of the random train and validation sets (the rest is the test set).
        seed: seed of the first split and of its classifier's initialisation (split ``k`` uses ``seed + k``).
        epochs, lr, weight_decay: full-batch Adam on the classifier.
        normalize: L2-normalise embedding rows first (as GRACE's evaluation does); ``False`` trains on the raw
            embeddings (GCA's and CSGCL's ``log_regression``).
        public_split: ``(train, val, test)``, each a 1-D index tensor or a boolean mask; 2-D masks :math:`(N, S)`
            hold ``S`` splits (one per column; a 1-D test mask is shared by all of them).
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
        splits = _fixed_splits(public_split, x.size(0))
        for k, split in enumerate(splits):
            v, t = _fit_logreg(x, y, *split, num_classes, epochs, lr, weight_decay, seed + k)
            accs.append(t)
            vals.append(v)
        return ProbeResult(accs, vals, "public split" if len(splits) == 1 else
                           f"{len(splits)} public splits, mean test accuracy at best validation")
    for k in range(num_splits):
        split = random_split(x.size(0), train_ratio, val_ratio, seed + k)
        v, t = _fit_logreg(x, y, *split, num_classes, epochs, lr, weight_decay, seed + k)
        accs.append(t)
        vals.append(v)
    protocol = (f"random {train_ratio:.0%}/{val_ratio:.0%}/{1 - train_ratio - val_ratio:.0%} splits, "
                f"seeds {seed}..{seed + num_splits - 1}, test accuracy at best validation")
    return ProbeResult(accs, vals, protocol)
