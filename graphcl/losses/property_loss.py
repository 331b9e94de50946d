r"""Masked multi-task losses for molecular property prediction (MoleculeNet fine-tuning).

Targets are ``[B, T]`` float tensors (``B`` molecules, ``T`` tasks) in which ``NaN`` marks a missing label. The loss
is the mean over all *present* (molecule, task) entries, as in chemprop and in `Hu et al., "Strategies for
Pre-training Graph Neural Networks" <https://arxiv.org/abs/1905.12265>`_ (``sum(loss * mask) / sum(mask)``): a task
with more labels weighs more, and a molecule with few labels weighs less. Missing entries contribute neither to
the loss nor to the gradient; a batch without any label gives a loss of ``0`` that still carries a (zero) gradient,
so ``loss.backward()`` works unchanged. KCL (`Fang et al., AAAI 2022 <https://arxiv.org/abs/2112.00544>`_) uses
BCE with this mask for classification sets and MSE for ESOL / FreeSolv.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["TASK_TYPES", "masked_bce_with_logits", "masked_mse", "PropertyLoss"]

#: Valid values of ``task_type``.
TASK_TYPES = ("classification", "regression")


def _present(pred: Tensor, target: Tensor, pred_name: str) -> tuple[Tensor, Tensor]:
    """Check shapes; return the presence mask and the target with missing entries set to 0."""
    if not isinstance(pred, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"Expected tensors for '{pred_name}' and 'target' "
                        f"(got {type(pred).__name__} and {type(target).__name__})")
    if pred.shape != target.shape:
        raise ValueError(f"Expected '{pred_name}' and 'target' of the same shape "
                         f"(got {tuple(pred.shape)} and {tuple(target.shape)})")
    target = target.to(pred.dtype)
    mask = ~torch.isnan(target)
    return mask, torch.where(mask, target, torch.zeros_like(target))


def _masked_mean(loss: Tensor, mask: Tensor) -> Tensor:
    # missing entries are selected away (their targets were already zeroed, so nothing there is NaN)
    total = torch.where(mask, loss, torch.zeros_like(loss)).sum()
    return total / mask.sum().clamp_min(1)


def masked_bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    r"""Binary cross-entropy on logits, averaged over the present labels (``NaN`` in ``target`` = missing).

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(i,t) \in \Omega}
        -\big(y_{it} \log \sigma(z_{it}) + (1 - y_{it}) \log(1 - \sigma(z_{it}))\big),
        \qquad \Omega = \{(i, t) : y_{it} \text{ present}\}

    and :math:`\mathcal{L} = 0` (with a zero gradient) when :math:`\Omega = \emptyset`.

    Args:
        logits (Tensor): predicted logits :math:`z`.
        target (Tensor): labels in :math:`[0, 1]` (``NaN`` = missing).

    Shapes:
        - **input:** ``logits`` and ``target`` of one shape, e.g. :math:`(B, T)`
        - **output:** scalar

    Example:
        >>> logits = torch.tensor([[0.0, 2.0]])
        >>> round(masked_bce_with_logits(logits, torch.tensor([[1.0, float("nan")]])).item(), 4)  # log 2
        0.6931
    """
    mask, target = _present(logits, target, "logits")
    if bool(((target < 0) | (target > 1)).any()):
        bad = target[(target < 0) | (target > 1)][0].item()
        raise ValueError(f"Expected the present labels of 'target' to lie in [0, 1] (got {bad})")
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _masked_mean(loss, mask)


def masked_mse(pred: Tensor, target: Tensor) -> Tensor:
    r"""Mean squared error over the present labels (``NaN`` in ``target`` = missing).

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(i,t) \in \Omega} (\hat y_{it} - y_{it})^2,
        \qquad \Omega = \{(i, t) : y_{it} \text{ present}\}

    and :math:`\mathcal{L} = 0` (with a zero gradient) when :math:`\Omega = \emptyset`.

    Args:
        pred (Tensor): predictions :math:`\hat y`.
        target (Tensor): targets (``NaN`` = missing).

    Shapes:
        - **input:** ``pred`` and ``target`` of one shape, e.g. :math:`(B, T)`
        - **output:** scalar

    Example:
        >>> masked_mse(torch.tensor([[1.0, 5.0], [2.0, 0.0]]), torch.tensor([[0.0, float("nan")], [4.0, 0.0]]))
        tensor(1.6667)
    """
    mask, target = _present(pred, target, "pred")
    return _masked_mean((pred - target) ** 2, mask)


class PropertyLoss(nn.Module):
    r"""The fine-tuning loss of a molecular property task: :func:`masked_bce_with_logits` for
    ``"classification"``, :func:`masked_mse` for ``"regression"`` (as in KCL, `Fang et al., AAAI 2022
    <https://arxiv.org/abs/2112.00544>`_).

    .. math::
        \mathcal{L} = \frac{1}{|\Omega|} \sum_{(i,t) \in \Omega} \ell(\hat y_{it}, y_{it}),\qquad
        \ell = \text{BCE on logits or squared error}

    Args:
        task_type (str): one of :data:`TASK_TYPES`.

    Shapes:
        - **input:** ``pred`` (logits for classification) and ``target`` (``NaN`` = missing), e.g. :math:`(B, T)`
        - **output:** scalar

    Example:
        >>> PropertyLoss("regression")(torch.tensor([[3.0]]), torch.tensor([[1.0]]))
        tensor(4.)
    """

    def __init__(self, task_type: str):
        super().__init__()
        if task_type not in TASK_TYPES:
            raise ValueError(f"Expected 'task_type' to be one of {TASK_TYPES} (got {task_type!r})")
        self.task_type = task_type

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if self.task_type == "classification":
            return masked_bce_with_logits(pred, target)
        return masked_mse(pred, target)

    def extra_repr(self) -> str:
        return f"task_type={self.task_type!r}"
