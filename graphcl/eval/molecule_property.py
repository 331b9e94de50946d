r"""Metrics of molecular property prediction (MoleculeNet) and a frozen linear probe on molecule embeddings.

Targets are ``[N, T]`` arrays (``N`` molecules, ``T`` tasks; a 1-D array is one task) with ``NaN`` for a missing
label; every metric is computed per task over the molecules that have that task's label.

* Classification: ROC-AUC per task (:func:`sklearn.metrics.roc_auc_score`). A task whose present labels hold only
  one class in the split (or none) has no AUC: it is reported as ``None``, left out of the mean, and counted in
  ``num_skipped`` (MoleculeNet practice, e.g. Hu et al. 2020, for Tox21 / ToxCast / MUV splits).
* Regression: RMSE and MAE per task; the headline ``mean`` is the mean of the per-task RMSEs (ESOL and FreeSolv
  have one task, so it is their RMSE).

The linear probe (`KCL <https://arxiv.org/abs/2112.00544>`_'s and GraphCL's "linear" protocol) trains, per task,
a scikit-learn :class:`~sklearn.linear_model.LogisticRegression` (classification) or
:class:`~sklearn.linear_model.Ridge` (regression) on frozen embeddings standardised with the training split's
mean and standard deviation; the regularisation strength is chosen per task on the validation metric from a small
grid, never on the test split.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

__all__ = ["TASK_TYPES", "C_GRID", "ALPHA_GRID", "roc_auc_per_task", "rmse_per_task", "property_metrics",
           "linear_probe_properties"]

#: Valid values of ``task_type``.
TASK_TYPES = ("classification", "regression")
#: Inverse L2 strengths tried by the classification probe (ascending: on a validation tie the stronger
#: regularisation, listed first, wins).
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
#: L2 strengths tried by the regression probe (descending, for the same tie rule).
ALPHA_GRID = (1000.0, 100.0, 10.0, 1.0, 0.1, 0.01)


def _check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise ValueError(f"Expected 'task_type' to be one of {TASK_TYPES} (got {task_type!r})")


def _as_2d(array: Any, name: str) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor
        array = array.detach().cpu().numpy()
    out = np.asarray(array, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise ValueError(f"Expected '{name}' of shape [N] or [N, T] (got shape {out.shape})")
    return out


def _pair(target: Any, pred: Any, pred_name: str) -> tuple[np.ndarray, np.ndarray]:
    target, pred = _as_2d(target, "target"), _as_2d(pred, pred_name)
    if target.shape != pred.shape:
        raise ValueError(f"Expected 'target' and '{pred_name}' of the same shape "
                         f"(got {target.shape} and {pred.shape})")
    present = ~np.isnan(target)
    if np.isnan(pred[present]).any():
        raise ValueError(f"Expected no NaN in '{pred_name}' where 'target' has a label (got {pred_name} with NaN)")
    return target, pred


def _summary(metric: str, per_task: list[float | None], **extra: Any) -> dict[str, Any]:
    scored = [v for v in per_task if v is not None]
    return {"metric": metric, "per_task": per_task, "mean": float(np.mean(scored)) if scored else None,
            "num_tasks": len(per_task), "num_skipped": len(per_task) - len(scored), **extra}


def roc_auc_per_task(target: Any, scores: Any) -> dict[str, Any]:
    r"""ROC-AUC of each task over its present labels, and their mean.

    .. math::
        \mathrm{AUC}_t = P(s_{it} > s_{jt} \mid y_{it} = 1, y_{jt} = 0)
        \;(\text{ties } \tfrac12),\qquad
        \overline{\mathrm{AUC}} = \frac{1}{|\mathcal T'|}\sum_{t \in \mathcal T'} \mathrm{AUC}_t

    with :math:`\mathcal T'` the tasks whose present labels hold both classes.

    Args:
        target (array-like): binary labels, ``NaN`` = missing, shape ``[N]`` or ``[N, T]``.
        scores (array-like): scores of the positive class (logits or probabilities), same shape.

    Returns:
        dict: ``metric`` (``"roc_auc"``), ``per_task`` (float, or ``None`` for a skipped task), ``mean`` (over the
        scored tasks; ``None`` if none), ``num_tasks``, ``num_skipped``.

    Example:
        >>> roc_auc_per_task([[1, 0], [0, 0], [1, float("nan")]], [[0.9, 0.1], [0.2, 0.3], [0.8, 0.5]])["per_task"]
        [1.0, None]
    """
    from sklearn.metrics import roc_auc_score

    target, scores = _pair(target, scores, "scores")
    present = ~np.isnan(target)
    labels = target[present]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"Expected binary labels (0 / 1 / NaN) in 'target' "
                         f"(got {labels[~np.isin(labels, (0.0, 1.0))][0]})")
    per_task: list[float | None] = []
    for t in range(target.shape[1]):  # a loop over tasks
        y = target[present[:, t], t]
        if np.unique(y).size < 2:
            per_task.append(None)
        else:
            per_task.append(float(roc_auc_score(y, scores[present[:, t], t])))
    return _summary("roc_auc", per_task)


def rmse_per_task(target: Any, pred: Any) -> dict[str, Any]:
    r"""RMSE and MAE of each task over its present labels, and their means.

    .. math::
        \mathrm{RMSE}_t = \sqrt{\frac{1}{|\Omega_t|}\sum_{i \in \Omega_t}(\hat y_{it} - y_{it})^2},\qquad
        \mathrm{MAE}_t = \frac{1}{|\Omega_t|}\sum_{i \in \Omega_t}|\hat y_{it} - y_{it}|

    with :math:`\Omega_t` the molecules labelled for task :math:`t` (a task without labels is skipped).

    Args:
        target (array-like): targets, ``NaN`` = missing, shape ``[N]`` or ``[N, T]``.
        pred (array-like): predictions, same shape.

    Returns:
        dict: ``metric`` (``"rmse"``), ``per_task`` (RMSE or ``None``), ``mean`` (mean per-task RMSE),
        ``mae_per_task``, ``mae_mean``, ``num_tasks``, ``num_skipped``.

    Example:
        >>> rmse_per_task([1.0, 2.0, float("nan")], [2.0, 0.0, 5.0])["per_task"]  # sqrt((1 + 4) / 2)
        [1.5811388300841898]
    """
    target, pred = _pair(target, pred, "pred")
    present = ~np.isnan(target)
    count = present.sum(0)
    err = np.where(present, pred - np.where(present, target, 0.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt((err ** 2).sum(0) / count)
        mae = np.abs(err).sum(0) / count
    rmse_list = [float(v) if c > 0 else None for v, c in zip(rmse, count)]
    mae_list = [float(v) if c > 0 else None for v, c in zip(mae, count)]
    mae_scored = [v for v in mae_list if v is not None]
    return _summary("rmse", rmse_list, mae_per_task=mae_list,
                    mae_mean=float(np.mean(mae_scored)) if mae_scored else None)


def property_metrics(task_type: str, target: Any, pred: Any) -> dict[str, Any]:
    """:func:`roc_auc_per_task` for ``"classification"``, :func:`rmse_per_task` for ``"regression"``.

    Args:
        task_type (str): one of :data:`TASK_TYPES`.
        target (array-like): labels / targets, ``NaN`` = missing, shape ``[N]`` or ``[N, T]``.
        pred (array-like): scores (classification) or predictions (regression), same shape.

    Returns:
        dict: with at least ``metric`` (``"roc_auc"`` or ``"rmse"``), ``per_task``, ``mean``, ``num_skipped``.
    """
    _check_task_type(task_type)
    if task_type == "classification":
        return roc_auc_per_task(target, pred)
    return rmse_per_task(target, pred)


def _split(split: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(f"Expected '{name}' to be an (embeddings, targets) pair (got {type(split).__name__})")
    emb = split[0].detach().cpu().numpy() if hasattr(split[0], "detach") else np.asarray(split[0])
    emb = np.asarray(emb, dtype=np.float64)
    target = _as_2d(split[1], f"{name} targets")
    if emb.ndim != 2 or emb.shape[0] != target.shape[0]:
        raise ValueError(f"Expected '{name}' embeddings of shape [N, D] with one row per target row "
                         f"(got embeddings {emb.shape} and targets {target.shape})")
    return emb, target


def linear_probe_properties(train: tuple, valid: tuple, test: tuple, task_type: str, seed: int = 0,
                            grid: Sequence[float] | None = None) -> dict[str, Any]:
    r"""Frozen linear probe for molecular properties: one linear model per task on standardised embeddings.

    For each task :math:`t`, on the training molecules labelled for :math:`t`, fit

    * classification: :class:`~sklearn.linear_model.LogisticRegression` (L2, ``C`` from ``grid``, default
      :data:`C_GRID`), scored by ROC-AUC of its probabilities;
    * regression: :class:`~sklearn.linear_model.Ridge` (``alpha`` from ``grid``, default :data:`ALPHA_GRID`),
      scored by RMSE,

    on :math:`z = (e - \mu_{train}) / \sigma_{train}` (a constant embedding dimension is left unscaled), and keep
    the grid value with the best *validation* metric (first in grid order on ties). When the validation split
    cannot score the task (fewer than two classes, or no label) the grid value closest to 1 is used; a task whose
    training labels hold one class (or none) is skipped (``None`` everywhere).

    Args:
        train (tuple): ``(embeddings [N, D], targets [N] or [N, T] with NaN = missing)``.
        valid (tuple): the same for the validation split.
        test (tuple): the same for the test split.
        task_type (str): one of :data:`TASK_TYPES`.
        seed (int, optional): ``random_state`` of the logistic regressions. (default: :obj:`0`)
        grid (Sequence[float], optional): the regularisation values to try (``C`` or ``alpha``).
            (default: :obj:`None`, i.e. :data:`C_GRID` / :data:`ALPHA_GRID`)

    Returns:
        dict: ``valid`` and ``test`` (:func:`property_metrics` of the chosen models on each split), ``metric``,
        ``param`` (``"C"`` or ``"alpha"``), ``grid``, ``chosen`` (per task: the chosen value or ``None``) and
        ``valid_scores`` (per task: the validation metric of every grid value, or ``None``).
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    _check_task_type(task_type)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (_split(s, n) for s, n in
                                                ((train, "train"), (valid, "valid"), (test, "test")))
    if not x_tr.shape[1] == x_va.shape[1] == x_te.shape[1] or not y_tr.shape[1] == y_va.shape[1] == y_te.shape[1]:
        raise ValueError(f"Expected the three splits to share the embedding width and the task count (got "
                         f"embeddings {x_tr.shape}, {x_va.shape}, {x_te.shape}; targets {y_tr.shape}, "
                         f"{y_va.shape}, {y_te.shape})")
    classification = task_type == "classification"
    grid = tuple(float(v) for v in (grid if grid is not None else (C_GRID if classification else ALPHA_GRID)))
    if not grid or min(grid) <= 0:
        raise ValueError(f"Expected 'grid' to hold positive values (got {grid})")
    mean, std = x_tr.mean(0), x_tr.std(0)
    std = np.where(std > 0, std, 1.0)
    z_tr, z_va, z_te = ((x - mean) / std for x in (x_tr, x_va, x_te))
    default = min(range(len(grid)), key=lambda i: abs(np.log(grid[i])))

    num_tasks = y_tr.shape[1]
    pred_va = np.zeros_like(y_va)
    pred_te = np.zeros_like(y_te)
    chosen: list[float | None] = []
    valid_scores: list[list[float] | None] = []
    skipped = np.zeros(num_tasks, dtype=bool)
    for t in range(num_tasks):  # a loop over tasks (and below over a handful of grid values)
        rows = ~np.isnan(y_tr[:, t])
        labels = y_tr[rows, t]
        if rows.sum() == 0 or (classification and np.unique(labels).size < 2):
            skipped[t] = True
            chosen.append(None)
            valid_scores.append(None)
            continue
        fits, scores = [], []
        for value in grid:
            if classification:
                model = LogisticRegression(C=value, max_iter=2000, random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # convergence warnings on separable toy data
                    model.fit(z_tr[rows], labels.astype(int))
                predict = lambda z, m=model: m.predict_proba(z)[:, 1]  # noqa: E731
            else:
                model = Ridge(alpha=value).fit(z_tr[rows], labels)
                predict = model.predict
            fits.append(predict)
            score = property_metrics(task_type, y_va[:, t], predict(z_va))["mean"]
            scores.append(np.nan if score is None else score)
        scores_arr = np.asarray(scores)
        if np.isnan(scores_arr).all():
            best = default
        else:
            best = int(np.nanargmax(scores_arr) if classification else np.nanargmin(scores_arr))
        chosen.append(grid[best])
        valid_scores.append([None if np.isnan(s) else float(s) for s in scores])
        pred_va[:, t] = fits[best](z_va)
        pred_te[:, t] = fits[best](z_te)

    def metrics(target: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
        target = target.copy()
        target[:, skipped] = np.nan  # skipped tasks: no model, reported as None
        return property_metrics(task_type, target, pred)

    return {"metric": "roc_auc" if classification else "rmse", "param": "C" if classification else "alpha",
            "grid": list(grid), "chosen": chosen, "valid_scores": valid_scores,
            "valid": metrics(y_va, pred_va), "test": metrics(y_te, pred_te)}
