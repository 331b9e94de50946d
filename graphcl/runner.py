"""One run of a method: resolve the config, load the data, train with checkpoints, evaluate, write the outputs.

Used by ``graphcl train`` and by the benchmarks, so both produce the same files:
``config.yaml``, ``metrics.json`` (with ``losses``, the loss of every epoch, earlier segments of a resumed run
included), ``embeddings.npy`` (float32, row i = node i in the loader's order), ``clusters.npy`` and
``checkpoint.pt``, each written atomically.

Under ``torchrun`` (a process group, :func:`graphcl.train.distributed.init_from_env`) every process loads the data
and trains in mini-batch mode (``batch_size``; the model in DistributedDataParallel); rank 0 alone chooses and
checks the output folder, writes every file and evaluates the embeddings.
"""
from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch_geometric.data import Data

from .compat.dgl_convert import as_pyg
from .data import data_root, is_graph_file, load_graph, load_graph_file, sha256_file, validate_graph
from .eval import clustering_metrics, kmeans, link_prediction_scores, linear_probe, split_edges
from .methods import get_method, resolve_config
from .methods.config import COMMON_DEFAULTS
from .train import (CHECKPOINT_NAME, check_matmul_precision, fit, load_checkpoint, machine_description, write_json,
                    write_npy, write_yaml)
from .train.distributed import device_for_rank, is_distributed, is_main_process, run_on_main, world_size

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
    normalize = bool(config.get("eval_normalize", COMMON_DEFAULTS["eval_normalize"]))
    probe = linear_probe(embeddings, y, num_splits=int(config["eval_splits"]), seed=int(config["eval_seed"]),
                         epochs=probe_epochs, normalize=normalize)
    metrics["linear_probe"] = probe.as_dict()
    if getattr(data, "train_mask", None) is not None:  # WikiCS: (N, 20) train/val masks, its 20 public splits
        masks = tuple(m.cpu() for m in (data.train_mask, data.val_mask, data.test_mask))
        metrics["linear_probe_public_split"] = linear_probe(embeddings, y, public_split=masks,
                                                            seed=int(config["eval_seed"]), epochs=probe_epochs,
                                                            normalize=normalize).as_dict()
    num_classes = int(y.max()) + 1
    pred = clusters.cpu().numpy() if clusters is not None else kmeans(embeddings, num_classes,
                                                                     seed=int(config["eval_seed"]))
    metrics["clustering"] = clustering_metrics(y, pred, data.edge_index.cpu(), data.num_nodes)
    metrics["clustering"]["source"] = "method" if clusters is not None else "k-means on embeddings"
    return metrics, pred


_OUT_COUNTER = itertools.count()
# What a run writes into its folder (removed first by an ``overwrite`` run, so no file of the old run stays).
OUTPUT_FILES = ("config.yaml", "metrics.json", "embeddings.npy", "clusters.npy", CHECKPOINT_NAME)


def default_out_dir(method: str, dataset: str) -> Path:
    """``runs/<method>-<dataset>-<time>-<pid>-<n>``: unique across concurrent runs and within one process."""
    name = Path(dataset).stem if is_graph_file(dataset) else dataset
    stamp = f"{method}-{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    while True:
        path = Path("runs") / f"{stamp}-{next(_OUT_COUNTER)}"
        if not path.exists():
            return path


def check_device(device: str | torch.device) -> None:
    """A one-line ``ValueError`` for a device string torch does not know or a CUDA device that is not there."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"Unknown device {str(device)!r} (expected cpu, cuda or cuda:N)") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"Device {str(device)!r} requested but CUDA is not available (torch {torch.__version__}); "
                             f"use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"Device {str(device)!r} requested but there are {torch.cuda.device_count()} CUDA "
                             f"devices (cuda:0 ... cuda:{torch.cuda.device_count() - 1})")
    elif dev.type not in ("cpu", "meta") and not getattr(torch, dev.type, None):
        raise ValueError(f"Unknown device {str(device)!r} (expected cpu, cuda or cuda:N)")


def check_out_dir(out: Path, resuming: bool, overwrite: bool) -> None:
    """Refuse a file, a non-empty folder (unless resuming or ``overwrite``) and a folder that cannot be written;
    creates the folder (and checks it with a probe file)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"Output folder {out} exists and is a file: choose another --out")
    if not resuming and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"Output folder {out} exists and is not empty: choose another --out, --resume it, or pass "
                         f"--overwrite to replace its outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"Cannot write to output folder {out}: {err.strerror or err}") from err


def _saved_config(out: Path) -> dict[str, Any]:
    saved = out / "config.yaml"
    if not saved.exists():
        raise FileNotFoundError(f"Cannot resume: {saved} is missing (is {out} a graphcl run folder?)")
    try:
        config = yaml.safe_load(saved.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"Cannot resume: {saved} is not valid YAML ({yaml_problem(err)})") from err
    if not isinstance(config, dict) or "method" not in config or "dataset" not in config:
        raise ValueError(f"Cannot resume: {saved} is not a graphcl run config (no 'method' and 'dataset')")
    return config


def yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{getattr(err, 'problem', None) or type(err).__name__}{where}"


def _same_dataset(given: str, saved: str) -> bool:
    if is_graph_file(saved):
        return Path(given).expanduser().resolve() == Path(saved)
    return given.lower() == saved.lower()


def run(method: str | None = None, dataset: str | None = None, root: str | os.PathLike | None = None,
        config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None,
        preset: str | None = None, device: str = "cpu", out: str | os.PathLike | None = None,
        resume: str | os.PathLike | None = None, progress: bool = True, data: Data | Any | None = None,
        overwrite: bool = False, features: str | os.PathLike | None = None,
        labels: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train and evaluate one method on one dataset; returns the metrics (also written to ``out``).

    ``dataset`` is a registry name or a graph file (:func:`graphcl.data.load_graph_file`: a ``torch.save``'d PyG
    ``Data``, a ``.csv``/``.tsv`` edge list with optional ``features`` and ``labels`` files, or a DGL
    ``save_graphs`` file). Everything is checked before anything is written: a bad config, device, data file,
    checkpoint or output folder is a one-line ``ValueError`` / ``FileNotFoundError``. ``out`` must be new or
    empty unless ``overwrite`` (the run's known output files are then replaced); by default it is a fresh
    ``runs/<method>-<dataset>-<time>-<pid>-<n>``.

    With ``resume`` (a previous run's folder) the saved config (data root and graph files included) and the
    checkpoint are loaded and training continues in that folder; ``overrides`` may then only raise ``epochs``
    (never below the epochs already trained) or change ``matmul_precision``; a ``method``, ``dataset`` or ``root``
    given must be the saved one. ``train_seconds`` counts every segment of a resumed run.
    ``data`` (instead of loading ``dataset``) is a PyG ``Data`` or a homogeneous ``dgl.DGLGraph``, converted by
    :func:`graphcl.compat.dgl_convert.from_dgl` (``ndata`` -> node attributes such as ``x``, ``y``, masks).

    Under a process group (``torchrun``) the method must train in mini-batches (``batch_size`` set: each process
    takes a share of every global batch; ``device`` ``cuda`` is each process's ``LOCAL_RANK`` GPU); rank 0 alone
    checks and writes ``out`` (its default folder is rank 0's) and evaluates; the other ranks return the training
    figures only (no ``linear_probe`` or ``clustering``).
    """
    if data is not None:
        data = as_pyg(data)
        if not isinstance(data, Data):
            raise TypeError(f"Expected 'data' to be a homogeneous graph (got {type(data).__name__})")
        data = validate_graph(data, dataset or "data")
    check_device(device)
    checkpoint, previous_seconds = None, 0.0
    if resume is not None:
        out = Path(resume)
        saved_config = _saved_config(out)
        method_cls = get_method(saved_config["method"])
        if method is not None and get_method(method).name != method_cls.name:
            raise ValueError(f"{out} is a {method_cls.name} run: cannot resume it as {method}")
        if dataset is not None and not _same_dataset(str(dataset), str(saved_config["dataset"])):
            raise ValueError(f"{out} was trained on {saved_config['dataset']}: cannot resume it on {dataset}")
        if config_file is not None or preset is not None or features is not None or labels is not None:
            raise ValueError("When resuming, the run's saved config and data are used: --config, --preset, "
                             "--features and --labels cannot be given")
        saved_root = saved_config.get("root")
        if root is not None and saved_root is not None and data_root(root) != Path(saved_root):
            raise ValueError(f"{out} was trained on data under {saved_root}: cannot resume it with --root {root}")
        root = saved_root if saved_root is not None else root
        # keys added to the defaults after the run was saved take their defaults (the behaviour before the key)
        config = {**COMMON_DEFAULTS, **method_cls.defaults, **saved_config}
        extra = {k: v for k, v in (overrides or {}).items() if v is not None}
        if set(extra) - RESUME_OVERRIDES:
            raise ValueError(f"When resuming only {sorted(RESUME_OVERRIDES)} may change (got {sorted(extra)})")
        config.update(extra)
        method, dataset = config["method"], config["dataset"]
        if not (out / CHECKPOINT_NAME).exists():
            raise FileNotFoundError(f"Cannot resume: {out / CHECKPOINT_NAME} is missing (the run stopped before its "
                                    f"first checkpoint): start it again with --out {out} --overwrite")
        checkpoint = load_checkpoint(out)
        trained = int(checkpoint["epoch"])
        saved_method = (checkpoint.get("config") or {}).get("method", method_cls.name)
        if saved_method != method_cls.name:
            raise ValueError(f"{out / CHECKPOINT_NAME} is a checkpoint of {saved_method}, not of this "
                             f"{method_cls.name} run")
        if int(config["epochs"]) < trained:
            raise ValueError(f"{out} has trained {trained} epochs already; --epochs {config['epochs']} would "
                             f"relabel it: give at least {trained}")
        previous_seconds = previous_seconds_of(out, checkpoint)
        features, labels = config.get("features"), config.get("labels")
    else:
        if method is None or dataset is None:
            raise ValueError("Need a method and a dataset (or resume=<run folder>)")
        method_cls = get_method(method)
        try:
            config = resolve_config(method_cls, dataset, preset, config_file, overrides)
        except yaml.YAMLError as err:
            raise ValueError(f"--config {config_file} is not valid YAML ({yaml_problem(err)})") from err
        if int(config["epochs"]) < 1:
            raise ValueError(f"'epochs' must be >= 1 (got {config['epochs']})")
    precision = config["matmul_precision"]
    check_matmul_precision(precision)

    if data is None:
        if is_graph_file(dataset):
            data = load_graph_file(dataset, features, labels)
            files = {str(Path(f).expanduser().resolve()): sha256_file(f)
                     for f in (dataset, features, labels) if f is not None}
            if resume is not None and config.get("data_sha256"):
                for path, digest in config["data_sha256"].items():
                    if files.get(path) != digest:
                        raise ValueError(f"Cannot resume: {path} changed since {out} was trained (sha256 "
                                         f"{files.get(path)}, was {digest})")
            config.update({"dataset": str(Path(dataset).expanduser().resolve()), "data_sha256": files,
                           "features": None if features is None else str(Path(features).expanduser().resolve()),
                           "labels": None if labels is None else str(Path(labels).expanduser().resolve())})
        else:
            if features is not None or labels is not None:
                raise ValueError("--features and --labels go with a graph file (--dataset FILE.csv), not a registry "
                                 "dataset")
            data = load_graph(dataset, root)
            config["root"] = str(data_root(root))
    out = run_on_main(lambda: Path(out) if out is not None else default_out_dir(method_cls.name, dataset))
    config["device"] = str(device)

    split = None
    if config.get("link_prediction"):  # hold out edges before training: the method never sees them
        split = split_edges(data, val_ratio=0.0, test_ratio=0.1, seed=int(config["eval_seed"]))
        data = split.train_data
    started = time.perf_counter()
    model = method_cls(data, config, device_for_rank(device))
    if is_distributed() and model.minibatch is None:
        raise ValueError(f"{world_size()} processes need mini-batch training: set 'batch_size' (GRACE, CSGCL, GGD; "
                         f"--config) or run {method_cls.name} in one process")
    if checkpoint is not None:
        try:
            model.load_state_dict(checkpoint["method"])
        except Exception as err:  # another architecture, graph size, ...
            raise ValueError(f"{out / CHECKPOINT_NAME} does not fit this run's model ({type(err).__name__}: "
                             f"{(str(err).splitlines() or [''])[0][:200]})") from err
    run_on_main(_prepare_out_dir, out, config, resume is not None, overwrite)
    losses = fit(model, int(config["epochs"]), out, checkpoint, int(config["checkpoint_every"]), progress,
                 precision)
    train_seconds = previous_seconds + time.perf_counter() - started
    summary = {"method": method_cls.name, "dataset": config["dataset"], "epochs": int(config["epochs"]),
               "final_loss": losses[-1] if losses else None, "losses": losses, "train_seconds": train_seconds,
               "processes": world_size(), "machine": machine_description(device)}
    if not is_main_process():
        return {**summary, "out": str(out)}

    embeddings = model.embed().float()
    metrics, clusters = evaluate_embeddings(embeddings, data, config, model.predict_clusters())
    if split is not None:
        metrics["link_prediction"] = link_prediction_scores(embeddings.cpu(), split.test_pos, split.test_neg)
        metrics["link_prediction"]["protocol"] = ("10% of edges and as many non-edges held out before training; "
                                                  "score = embedding dot product")
    metrics.update(summary)
    write_npy(out / "embeddings.npy", embeddings.cpu().numpy().astype(np.float32))
    if clusters is not None:
        write_npy(out / "clusters.npy", np.asarray(clusters, dtype=np.int64))
    write_json(out / "metrics.json", metrics)
    metrics["out"] = str(out)
    return metrics


def _prepare_out_dir(out: Path, config: dict[str, Any], resuming: bool, overwrite: bool) -> None:
    """Check and create the output folder (:func:`check_out_dir`), remove an overwritten run's files, write the
    config."""
    check_out_dir(out, resuming, overwrite)
    if not resuming:
        for name in OUTPUT_FILES:
            (out / name).unlink(missing_ok=True)
    write_yaml(out / "config.yaml", config)


def previous_seconds_of(out: Path, checkpoint: dict[str, Any]) -> float:
    """Training seconds before this segment: the checkpoint's (written since the key exists), else those of the
    finished run's metrics.json when it describes the checkpoint's epoch."""
    if "train_seconds" in checkpoint:
        return float(checkpoint["train_seconds"])
    try:
        previous = json.loads((out / "metrics.json").read_text())
        if int(previous.get("epochs", -1)) == int(checkpoint["epoch"]):
            return float(previous.get("train_seconds") or 0.0)
    except (OSError, ValueError):
        pass
    return 0.0
