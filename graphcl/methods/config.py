"""Config resolution: defaults < dataset preset < config file < command-line overrides."""
from __future__ import annotations

import os
from typing import Any

import yaml

from .base import Method

# Keys every method accepts, beside its own hyper-parameters.
COMMON_DEFAULTS: dict[str, Any] = {
    "seed": 0,               # (int) seed of model initialisation and augmentation randomness
    "eval_splits": 5,        # (int) random 10/10/80 splits of the linear probe
    "eval_seed": 0,          # (int) seed of the first probe split / k-means
    "eval_epochs": 300,      # (int) linear-probe training epochs (GCA/CSGCL's log_regression uses 3000, as the
                             #       CSGCL presets of the authors' datasets; on Photo 300 underfit: docs/csgcl.md)
    "eval_normalize": True,  # (bool) L2-normalise the embedding rows before the linear probe (GRACE's evaluation);
                             #        false = the raw rows (GCA's and CSGCL's log_regression: docs/csgcl.md)
    "checkpoint_every": 50,  # (int) epochs between checkpoints (and at the end)
    "matmul_precision": "highest",  # (str) torch.set_float32_matmul_precision while training: highest (float32),
                                    #       high or medium (bfloat16 products with float32 sums on AMX/AVX512-BF16
                                    #       CPUs, TF32 on GPUs; faster, slightly less exact, and it can stall a
                                    #       run that starts collapsed, as CSGCL on Photo: docs/speed.md)
    "link_prediction": False,  # (bool) hold out 10% of edges (and as many non-edges) before training; report AUC/AP
}


def _check_keys(given: dict[str, Any], valid: dict[str, Any], where: str) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(f"Unknown config key(s) {unknown} in {where}. Valid keys: {', '.join(sorted(valid))}")


def resolve_config(method: type[Method], dataset: str, preset: str | None = None,
                   config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Merge, in increasing precedence: common and method defaults, the preset (by default the one named after the
    dataset, when the method has one), a YAML config file, and explicit overrides (``None`` values are skipped)."""
    config = {**COMMON_DEFAULTS, **method.defaults}
    if preset is not None and preset not in method.presets:
        raise ValueError(f"Unknown preset '{preset}' for method '{method.name}'. "
                         f"Valid presets: {', '.join(method.presets) or '(none)'}")
    chosen = preset or (dataset if dataset in method.presets else None)
    if chosen:
        config.update(method.presets[chosen])
    config["preset"] = chosen
    valid = {**config}
    if config_file is not None:
        loaded = yaml.safe_load(open(config_file).read()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_file}: expected a mapping of config keys (got {type(loaded).__name__})")
        _check_keys(loaded, valid, str(config_file))
        config.update(loaded)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    _check_keys(overrides, valid, "the overrides")
    config.update(overrides)
    config["method"], config["dataset"] = method.name, dataset
    return config
