"""Runs of the molecule stack: pretrain on a SMILES file, embed a SMILES file, fine-tune or probe on a property set.

Used by ``graphcl pretrain``, ``graphcl embed`` and ``graphcl finetune`` and by ``benchmarks/molecules.py``, so all
produce the same files, each written atomically:

* pretraining folder: ``config.yaml`` (resolved config, with the corpus), ``checkpoint.pt`` (every
  ``checkpoint_every`` epochs and at the end; ``--resume`` continues from it), ``metrics.json`` (loss per epoch,
  molecules per second, the corpus's invalid rows, the number of processes);
* embeddings: one ``.npy`` (float32, one row per input row, in input order, NaN rows for invalid SMILES) and a
  ``.invalid.json`` beside it listing those rows;
* fine-tuning folder: ``config.yaml`` and ``metrics.json`` (validation and test figures per task and their mean).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml
from torch_geometric.data import Data

from .methods.config import _check_keys
from .methods.molecule_base import PRETRAIN_METHODS, MoleculePretrainMethod, get_pretrain_method
from .methods.property_prediction import FINETUNE_DEFAULTS, finetune_properties, probe_properties
from .molecules import featurize_smiles, load_molecule_dataset, random_split, read_smiles_file, scaffold_split
from .runner import check_out_dir, default_out_dir, previous_seconds_of, yaml_problem
from .train import CHECKPOINT_NAME, fit, load_checkpoint, machine_description, write_json, write_npy, write_yaml
from .train.distributed import device_for_rank, is_main_process, run_on_main, world_size

# Keys a resumed pretraining may change: how long it runs.
RESUME_OVERRIDES = {"epochs"}
SPLITS = ("scaffold", "random")
PROTOCOLS = ("finetune", "linear", "both")


def load_corpus(smiles_file: str | os.PathLike, smiles_column: str | None = None, subset: int | None = None,
                subset_seed: int = 0) -> tuple[list[Data], dict[str, Any]]:
    """Featurise a SMILES file for pretraining; with ``subset``, a seeded random subset of that many rows (taken
    before featurisation, so invalid rows of the subset are reported as rows of the file)."""
    smiles = read_smiles_file(smiles_file, smiles_column)
    rows = np.arange(len(smiles))
    if subset is not None and subset < len(smiles):
        rows = np.sort(np.random.default_rng(subset_seed).choice(len(smiles), size=subset, replace=False))
    featurised = featurize_smiles([smiles[i] for i in rows], source=str(smiles_file))
    invalid = [(int(rows[r]), s) for r, s in featurised.invalid]
    info = {"file": str(smiles_file), "rows_in_file": len(smiles), "rows_used": len(rows),
            "subset_seed": subset_seed if subset is not None else None, "valid": len(featurised.graphs),
            "invalid": len(invalid), "invalid_rows": invalid[:100]}
    return featurised.graphs, info


def _pretrain_config(method_cls: type[MoleculePretrainMethod], config_file: str | os.PathLike | None,
                     overrides: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(method_cls.defaults)
    if config_file is not None:
        try:
            loaded = yaml.safe_load(Path(config_file).read_text()) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"--config {config_file} is not valid YAML ({yaml_problem(err)})") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_file}: expected a mapping of config keys (got {type(loaded).__name__})")
        _check_keys(loaded, method_cls.defaults, str(config_file))
        config.update(loaded)
    extra = {k: v for k, v in (overrides or {}).items() if v is not None}
    _check_keys(extra, method_cls.defaults, "the overrides")
    config.update(extra)
    config["method"] = method_cls.name
    return config


def _new_out_dir(out: str | os.PathLike | None, method: str) -> Path:
    """The folder of a new pretraining run (``out``, else a time-stamped default), checked and created."""
    out = Path(out) if out is not None else default_out_dir("pretrain", method)
    check_out_dir(out, resuming=False, overwrite=False)
    return out


def pretrain(method: str | None = None, smiles_file: str | os.PathLike | None = None, *,
             smiles_column: str | None = None, subset: int | None = None, subset_seed: int = 0,
             config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None,
             out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None, device: str = "cpu",
             progress: bool = True) -> dict[str, Any]:
    """Pretrain ``method`` on the SMILES of ``smiles_file`` (or continue the run in ``resume``); returns the
    metrics written to ``<out>/metrics.json``.

    Under a process group (``torchrun``; :func:`graphcl.train.distributed.init_from_env`) every process loads the
    corpus and trains its share of each global batch on ``device`` (``cuda``: its ``LOCAL_RANK``'s GPU); rank 0
    alone chooses and checks ``out`` and writes ``config.yaml``, the checkpoints and ``metrics.json``, and with
    ``resume`` every process loads the same checkpoint. The number of processes may change between segments: the
    global batch (``batch_size``) does not.
    """
    checkpoint, previous_seconds = None, 0.0
    if resume is not None:
        out = Path(resume)
        saved = out / "config.yaml"
        if not saved.exists():
            raise FileNotFoundError(f"Cannot resume: {saved} is missing (is {out} a graphcl pretrain folder?)")
        config = yaml.safe_load(saved.read_text())
        method_cls = get_pretrain_method(config["method"])
        if method is not None and method.lower() != method_cls.name:
            raise ValueError(f"{out} is a {method_cls.name} run; cannot resume it as {method}")
        extra = {k: v for k, v in (overrides or {}).items() if v is not None}
        if set(extra) - RESUME_OVERRIDES:
            raise ValueError(f"When resuming only {sorted(RESUME_OVERRIDES)} may change (got {sorted(extra)})")
        config.update(extra)
        if not (out / CHECKPOINT_NAME).exists():
            raise FileNotFoundError(f"Cannot resume: {out / CHECKPOINT_NAME} is missing")
        checkpoint = load_checkpoint(out)
        if int(config["epochs"]) < int(checkpoint["epoch"]):
            raise ValueError(f"{out} has trained {checkpoint['epoch']} epochs already; --epochs {config['epochs']} "
                             f"would relabel it: give at least {checkpoint['epoch']}")
        previous_seconds = previous_seconds_of(out, checkpoint)
        corpus = config["corpus"]
        smiles_file, smiles_column = corpus["file"], corpus["smiles_column"]
        subset, subset_seed = corpus["subset"], corpus["subset_seed"]
    else:
        if method is None or smiles_file is None:
            raise ValueError("Need a method and a SMILES file (or resume=<run folder>)")
        method_cls = get_pretrain_method(method)
        config = _pretrain_config(method_cls, config_file, overrides)
        config["corpus"] = {"file": str(Path(smiles_file).resolve()), "smiles_column": smiles_column,
                            "subset": subset, "subset_seed": subset_seed}
        out = run_on_main(_new_out_dir, out, method_cls.name)
    molecules, corpus_info = load_corpus(smiles_file, smiles_column, subset, subset_seed)
    config["device"] = str(device)
    if is_main_process():
        write_yaml(out / "config.yaml", config)
    model = method_cls(molecules, config, device_for_rank(device))
    model.progress = progress
    started = time.perf_counter()
    first_epoch = int(checkpoint["epoch"]) + 1 if checkpoint is not None else 1
    budget = config.get("budget_minutes")
    losses = fit(model, int(config["epochs"]), out, checkpoint, int(config["checkpoint_every"]), progress,
                 config["matmul_precision"], max_seconds=None if budget is None else 60.0 * float(budget))
    seconds = time.perf_counter() - started
    epochs_now = len(losses) - first_epoch + 1
    metrics = {"method": method_cls.name, "corpus": corpus_info, "epochs": len(losses),
               "epochs_requested": int(config["epochs"]), "losses": losses, "step_losses": model.step_losses,
               "final_loss": losses[-1] if losses else None, "train_seconds": previous_seconds + seconds,
               "molecules_per_second": (len(molecules) * epochs_now / seconds) if epochs_now > 0 else None,
               "processes": world_size(), "machine": machine_description(device)}
    if is_main_process():
        write_json(out / "metrics.json", metrics)
    metrics["out"] = str(out)
    return metrics


def load_pretrained(run: str | os.PathLike, device: str = "cpu") -> MoleculePretrainMethod:
    """The method of a pretraining folder with the weights of its last checkpoint (no corpus attached)."""
    run = Path(run)
    saved = run / "config.yaml"
    if not saved.exists():
        raise FileNotFoundError(f"{saved} is missing: is {run} a graphcl pretrain folder?")
    config = yaml.safe_load(saved.read_text())
    method = get_pretrain_method(config["method"])([], config, device, initialise=False)
    method.load_state_dict(load_checkpoint(run)["method"])
    return method


def untrained(encoder: str, seed: int = 0, device: str = "cpu") -> MoleculePretrainMethod:
    """A method holding freshly initialised weights for ``encoder`` (the no-pretraining baseline)."""
    for cls in PRETRAIN_METHODS.values():
        if encoder in cls.encoder_names:
            return cls([], {**cls.defaults, "seed": seed, "method": cls.name}, device, initialise=True)
    valid = sorted(e for cls in PRETRAIN_METHODS.values() for e in cls.encoder_names)
    raise ValueError(f"Unknown encoder '{encoder}'. Valid encoders: {', '.join(valid)}")


def embed(run: str | os.PathLike, smiles_file: str | os.PathLike, out: str | os.PathLike, *,
          smiles_column: str | None = None, encoder: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """Embeddings of every row of ``smiles_file`` by a pretrained encoder: ``out`` (.npy, float32, input order,
    NaN rows for invalid SMILES) and ``<out stem>.invalid.json``."""
    method = load_pretrained(run, device)
    smiles = read_smiles_file(smiles_file, smiles_column)
    featurised = featurize_smiles(smiles, source=str(smiles_file))
    name = encoder or next(iter(method.downstream_encoders()))
    emb = method.embed(featurised.graphs, name).numpy()
    full = np.full((len(smiles), emb.shape[1]), np.nan, dtype=np.float32)
    full[np.asarray(featurised.valid_rows, dtype=np.int64)] = emb
    out = Path(out)
    write_npy(out, full)
    invalid = [{"row": r, "smiles": s} for r, s in featurised.invalid]
    write_json(out.with_name(out.stem + ".invalid.json"), invalid)
    return {"out": str(out), "rows": len(smiles), "invalid": len(invalid), "dim": int(emb.shape[1]),
            "encoder": name}


def split_indices(smiles: Sequence[str], split: str, seed: int, split_seed: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8:1:1 scaffold split (deterministic; balanced and seeded with ``split_seed``) or random split (``seed``)."""
    if split == "scaffold":
        return scaffold_split(list(smiles), (0.8, 0.1, 0.1), seed=split_seed)
    if split == "random":
        return random_split(len(smiles), (0.8, 0.1, 0.1), seed=seed if split_seed is None else split_seed)
    raise ValueError(f"Expected split to be one of {SPLITS} (got {split!r})")


def finetune(run: str | os.PathLike | None, dataset: str | os.PathLike, *, root: str | os.PathLike | None = None,
             smiles_column: str | None = None, label_columns: Sequence[str] | None = None, split: str = "scaffold",
             split_seed: int | None = None, protocol: str = "both", encoder: str | None = None, seed: int = 0,
             overrides: dict[str, Any] | None = None, out: str | os.PathLike | None = None, device: str = "cpu",
             progress: bool = True) -> dict[str, Any]:
    """Score a pretrained encoder (``run``; ``None`` or ``"none"``: freshly initialised weights) on a property
    dataset (a preset name or a CSV) with fine-tuning, the frozen linear probe, or both."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Expected protocol to be one of {PROTOCOLS} (got {protocol!r})")
    data = load_molecule_dataset(dataset, root, smiles_column=smiles_column, label_columns=label_columns)
    pretrained = run is not None and str(run).lower() != "none"
    if pretrained:
        method = load_pretrained(run, device)
    else:
        if encoder is None:
            raise ValueError("Without a pretrained run (DIR = none) name the architecture with --encoder")
        method = untrained(encoder, seed, device)
    name = encoder or next(iter(method.downstream_encoders()))
    if name not in method.downstream_encoders():
        valid = ", ".join(method.downstream_encoders())
        raise ValueError(f"Unknown encoder '{name}' for {method.name}. Valid: {valid}")
    cfg = {**FINETUNE_DEFAULTS, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    _check_keys(cfg, FINETUNE_DEFAULTS, "the fine-tuning overrides")
    out = Path(out) if out is not None else default_out_dir("finetune", f"{Path(data.name).stem}-{name}")
    check_out_dir(out, resuming=False, overwrite=False)
    config = {"run": str(run) if pretrained else None, "method": method.name, "encoder": name,
              "dataset": str(dataset), "split": split, "split_seed": split_seed, "protocol": protocol, "seed": seed,
              "finetune": cfg, "device": str(device)}
    write_yaml(out / "config.yaml", config)
    parts = split_indices(data.smiles, split, seed, split_seed)
    prepared = [method.prepare(m, name) for m in data]
    metrics: dict[str, Any] = {"dataset": data.name, "task_type": data.task_type, "num_tasks": data.num_tasks,
                               "label_names": list(data.label_names), "molecules": len(data),
                               "invalid_rows": [r for r, _ in data.invalid], "split": split,
                               "split_sizes": [int(len(p)) for p in parts], "encoder": name,
                               "pretrained": str(run) if pretrained else None, "seed": seed,
                               "machine": machine_description(device)}
    started = time.perf_counter()
    if protocol in ("finetune", "both"):
        encoder_module = method.downstream_encoders()[name]
        metrics["finetune"] = finetune_properties(encoder_module, prepared, parts, data.task_type, cfg, seed,
                                                  device, progress)
    if protocol in ("linear", "both"):
        metrics["linear"] = probe_properties(lambda mols: method.embed(mols, name, prepared=True), prepared, parts,
                                             data.task_type, seed)
    metrics["seconds"] = time.perf_counter() - started
    write_json(out / "metrics.json", metrics)
    metrics["out"] = str(out)
    return metrics
