"""One run of a method: resolve the config, load the data, train with checkpoints, evaluate, write the outputs.

Used by ``graphcl train`` and by the benchmarks, so both produce the same files:
``config.yaml``, ``metrics.json``, ``embeddings.npy`` (float32, row i = node i in the loader's order),
``clusters.npy`` and ``checkpoint.pt``, each written atomically.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch_geometric.data import Data

from .compat.dgl_convert import as_pyg
from .data import load_graph
from .eval import clustering_metrics, kmeans, link_prediction_scores, linear_probe, split_edges
from .methods import get_method, resolve_config
from .methods.config import COMMON_DEFAULTS
from .train import (CHECKPOINT_NAME, check_matmul_precision, fit, load_checkpoint, machine_description, write_json,
                    write_npy, write_yaml)

# Keys a resumed run may change: the length of the run and the arithmetic of its matrix products, not the method.
RESUME_OVERRIDES = {"epochs", "matmul_precision"}


def evaluate_embeddings(embeddings: torch.Tensor, data: Data, config: dict[str, Any],
                        clusters: torch.Tensor | None = None) -> tuple[dict[str, Any], np.ndarray | None]:
    """Linear probe (random splits; public split too where the dataset has one) and clustering metrics
    (the method's own clusters, else k-means with as many clusters as classes). The probe trains on the
    embeddings' device (a GPU run's 5 x 3,000 probe epochs take seconds there, minutes on one CPU thread)."""
    metrics: dict[str, Any] = {}
    if getattr(data, "y", None) is None:
        return metrics, None
    y = data.y.cpu()
    probe_epochs = int(config.get("eval_epochs", COMMON_DEFAULTS["eval_epochs"]))  # runs saved before the key
    probe = linear_probe(embeddings, y, num_splits=int(config["eval_splits"]), seed=int(config["eval_seed"]),
                         epochs=probe_epochs)
    metrics["linear_probe"] = probe.as_dict()
    if getattr(data, "train_mask", None) is not None and data.train_mask.dim() == 1:
        masks = tuple(m.nonzero().view(-1).cpu() for m in (data.train_mask, data.val_mask, data.test_mask))
        metrics["linear_probe_public_split"] = linear_probe(embeddings, y, public_split=masks,
                                                            seed=int(config["eval_seed"]),
                                                            epochs=probe_epochs).as_dict()
    num_classes = int(y.max()) + 1
    pred = clusters.cpu().numpy() if clusters is not None else kmeans(embeddings, num_classes,
                                                                     seed=int(config["eval_seed"]))
    metrics["clustering"] = clustering_metrics(y, pred, data.edge_index.cpu(), data.num_nodes)
    metrics["clustering"]["source"] = "method" if clusters is not None else "k-means on embeddings"
    return metrics, pred


def default_out_dir(method: str, dataset: str) -> Path:
    return Path("runs") / f"{method}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(method: str | None = None, dataset: str | None = None, root: str | os.PathLike | None = None,
        config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None,
        preset: str | None = None, device: str = "cpu", out: str | os.PathLike | None = None,
        resume: str | os.PathLike | None = None, progress: bool = True, data: Data | Any | None = None
        ) -> dict[str, Any]:
    """Train and evaluate one method on one dataset; returns the metrics (also written to ``out``).

    With ``resume`` (a previous run's folder) the saved config and checkpoint are loaded and training continues
    in that folder; ``overrides`` may then only raise ``epochs`` or change ``matmul_precision``.
    ``data`` (instead of loading ``dataset``) is a PyG ``Data`` or a homogeneous ``dgl.DGLGraph``, converted by
    :func:`graphcl.compat.dgl_convert.from_dgl` (``ndata`` -> node attributes such as ``x``, ``y``, masks).
    """
    if data is not None:
        data = as_pyg(data)
        if not isinstance(data, Data):
            raise TypeError(f"Expected 'data' to be a homogeneous graph (got {type(data).__name__})")
    checkpoint = None
    if resume is not None:
        out = Path(resume)
        saved = out / "config.yaml"
        if not saved.exists():
            raise FileNotFoundError(f"Cannot resume: {saved} is missing (is {out} a graphcl run folder?)")
        saved_config = yaml.safe_load(saved.read_text())
        # keys added to the defaults after the run was saved take their defaults (the behaviour before the key)
        config = {**COMMON_DEFAULTS, **get_method(saved_config["method"]).defaults, **saved_config}
        extra = {k: v for k, v in (overrides or {}).items() if v is not None}
        if set(extra) - RESUME_OVERRIDES:
            raise ValueError(f"When resuming only {sorted(RESUME_OVERRIDES)} may change (got {sorted(extra)})")
        config.update(extra)
        method, dataset = config["method"], config["dataset"]
        if (out / CHECKPOINT_NAME).exists():
            checkpoint = load_checkpoint(out)
    else:
        if method is None or dataset is None:
            raise ValueError("Need a method and a dataset (or resume=<run folder>)")
        config = resolve_config(get_method(method), dataset, preset, config_file, overrides)
    precision = config["matmul_precision"]
    check_matmul_precision(precision)
    method_cls = get_method(method)
    out = Path(out) if out is not None else default_out_dir(method_cls.name, dataset)
    if data is None:
        data = load_graph(dataset, root)
    config["device"] = str(device)
    write_yaml(out / "config.yaml", config)

    split = None
    if config.get("link_prediction"):  # hold out edges before training: the method never sees them
        split = split_edges(data, val_ratio=0.0, test_ratio=0.1, seed=int(config["eval_seed"]))
        data = split.train_data
    started = time.perf_counter()
    model = method_cls(data, config, device)
    losses = fit(model, int(config["epochs"]), out, checkpoint, int(config["checkpoint_every"]), progress,
                 precision)
    train_seconds = time.perf_counter() - started

    embeddings = model.embed().float()
    metrics, clusters = evaluate_embeddings(embeddings, data, config, model.predict_clusters())
    if split is not None:
        metrics["link_prediction"] = link_prediction_scores(embeddings.cpu(), split.test_pos, split.test_neg)
        metrics["link_prediction"]["protocol"] = ("10% of edges and as many non-edges held out before training; "
                                                  "score = embedding dot product")
    metrics.update({"method": method_cls.name, "dataset": dataset, "epochs": int(config["epochs"]),
                    "final_loss": losses[-1] if losses else None, "train_seconds": train_seconds,
                    "machine": machine_description(device)})
    write_npy(out / "embeddings.npy", embeddings.cpu().numpy().astype(np.float32))
    if clusters is not None:
        write_npy(out / "clusters.npy", np.asarray(clusters, dtype=np.int64))
    write_json(out / "metrics.json", metrics)
    metrics["out"] = str(out)
    return metrics
