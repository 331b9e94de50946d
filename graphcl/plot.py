"""``graphcl plot RUN_DIR``: PNG figures of a finished ``graphcl train`` run.

* ``loss.png``: the training loss of every epoch (``losses`` of ``metrics.json``; a resumed run's earlier segments
  included).
* ``embeddings.png``: a 2-D map (t-SNE, or UMAP when ``umap-learn`` is installed and asked for) of the run's
  ``embeddings.npy``, coloured by class label (the labels of the run's dataset, loaded from ``config.yaml``'s
  ``dataset``, ``root``, ``features`` and ``labels``; the panel is left out, with a note, when they cannot be loaded)
  and by cluster (:func:`graphcl.eval.kmeans` with ``clusters`` clusters when given, else the run's
  ``clusters.npy``, else k-means with as many clusters as classes). More than ``max_points`` rows are subsampled
  (seeded); the title says how many are shown.

The files go to ``RUN_DIR/plots/`` (or ``out``), each written atomically. Needs matplotlib (the ``bench`` extra).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from .bench.plots import line_chart_png, new_figure, require_matplotlib
from .train import write_png

__all__ = ["MAPS", "MAX_POINTS", "subsample", "embedding_map", "plot_run"]

MAPS = ("tsne", "umap")
MAX_POINTS = 5000


def subsample(num_rows: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """The rows a map shows: all ``num_rows`` when there are at most ``max_points``, else a random subset of
    ``max_points`` drawn with ``seed`` (the same rows for the same arguments), in increasing order."""
    if max_points < 2:
        raise ValueError(f"Expected 'max_points' to be at least 2 (got {max_points})")
    if num_rows <= max_points:
        return np.arange(num_rows)
    return np.sort(np.random.default_rng(seed).choice(num_rows, size=max_points, replace=False))


def embedding_map(embeddings: np.ndarray, max_points: int = MAX_POINTS, seed: int = 0,
                  method: str = "tsne") -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of (a subsample of) the rows of ``embeddings`` ``[N, D]``: returns ``(coords [M, 2], rows
    [M])``, ``rows`` from :func:`subsample`, coordinates from scikit-learn's t-SNE (PCA start, perplexity 30 or
    less on small sets) or UMAP (``method="umap"``, needs ``umap-learn``), both seeded with ``seed``."""
    if method not in MAPS:
        raise ValueError(f"Expected 'method' to be one of {MAPS} (got {method!r})")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) < 3:
        raise ValueError(f"Expected 'embeddings' of shape [N >= 3, D] (got {list(embeddings.shape)})")
    rows = subsample(len(embeddings), max_points, seed)
    x = embeddings[rows]
    if method == "umap":
        try:
            from umap import UMAP
        except ImportError as err:
            raise ImportError("--map umap needs umap-learn, which is not installed: pip install umap-learn "
                              "(or use --map tsne)") from err
        return UMAP(n_components=2, random_state=seed).fit_transform(x), rows
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed)
    return tsne.fit_transform(x), rows


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _run_labels(config: dict, num_rows: int) -> tuple[np.ndarray | None, str | None]:
    """The class label of every node of the run's dataset, or ``None`` and why not."""
    from .data import is_graph_file, load_graph, load_graph_file

    dataset = config.get("dataset")
    try:
        if is_graph_file(str(dataset)):
            data = load_graph_file(dataset, config.get("features"), config.get("labels"))
        else:
            data = load_graph(str(dataset), config.get("root"), download=False)
    except (ValueError, OSError, ImportError) as err:
        return None, f"cannot load the run's dataset {dataset} ({_one_line(err)})"
    y = getattr(data, "y", None)
    if y is None:
        return None, f"the run's dataset {dataset} has no labels"
    if len(y) != num_rows:
        return None, f"the run's dataset {dataset} has {len(y)} labels for {num_rows} embeddings"
    return y.cpu().numpy(), None


def _scatter(ax, coords: np.ndarray, colours: np.ndarray, title: str) -> None:
    kinds = len(np.unique(colours))
    cmap = "tab10" if kinds <= 10 else "tab20" if kinds <= 20 else "turbo"
    points = ax.scatter(coords[:, 0], coords[:, 1], c=colours, cmap=cmap, s=4, linewidths=0)
    if kinds <= 20:
        ax.legend(*points.legend_elements(), fontsize="x-small", markerscale=0.6, loc="best")
    ax.set_title(title, fontsize="medium")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, max_points: int = MAX_POINTS,
             seed: int = 0, method: str = "tsne", clusters: int | None = None,
             log: Callable[[str], None] = print) -> list[Path]:
    """Write the figures of the run in ``run_dir`` (see the module docstring) and return their paths.

    Args:
        run_dir: a ``graphcl train`` output folder (``metrics.json`` required).
        out: folder of the PNG files (default: ``run_dir/plots``).
        max_points: most embedding rows on the map (a seeded random subset beyond).
        seed: seed of the subset, of t-SNE / UMAP and of k-means.
        method: ``"tsne"`` or ``"umap"``.
        clusters: colour by k-means with this many clusters (default: the run's ``clusters.npy``, else k-means
            with as many clusters as classes).
        log: receives a line per figure written and per panel left out.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"Run folder {run_dir} does not exist (give a `graphcl train` output folder)")
    if not (run_dir / "metrics.json").is_file():
        raise FileNotFoundError(f"{run_dir / 'metrics.json'} is missing: {run_dir} is not a finished graphcl train "
                                f"run")
    if method not in MAPS:
        raise ValueError(f"Expected the map to be one of {MAPS} (got {method!r})")
    subsample(0, max_points)  # checks max_points before any work
    if clusters is not None and clusters < 1:
        raise ValueError(f"Expected --clusters to be at least 1 (got {clusters})")
    require_matplotlib()
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").is_file() else {}
    except (ValueError, yaml.YAMLError) as err:
        raise ValueError(f"{run_dir} holds an unreadable metrics.json or config.yaml ({_one_line(err)})") from err
    out = Path(out) if out is not None else run_dir / "plots"
    name = f"{metrics.get('method', '?')} on {Path(str(metrics.get('dataset', '?'))).name}"
    written = []

    losses = metrics.get("losses")
    if losses:
        y = np.array([np.nan if v is None else v for v in losses], dtype=np.float64)
        line_chart_png(out / "loss.png", {name: (np.arange(1, len(y) + 1), y)}, "epoch", "training loss",
                       f"Training loss: {name}")
        written.append(out / "loss.png")
        log(f"wrote {written[-1]}")
    else:
        log(f"loss.png left out: {run_dir / 'metrics.json'} holds no loss history ('losses')")

    if not (run_dir / "embeddings.npy").is_file():
        log(f"embeddings.png left out: {run_dir / 'embeddings.npy'} is missing")
        return written
    embeddings = np.load(run_dir / "embeddings.npy")
    labels, why = _run_labels(config, len(embeddings))
    if labels is None:
        log(f"label panel left out: {why}")
    groups, source = _run_clusters(run_dir, metrics, embeddings, labels, clusters, seed)
    if groups is None:
        log(f"cluster panel left out: {source}")
    rows_shown = min(len(embeddings), max_points)
    log(f"{method} of {rows_shown} embedding rows ...")
    coords, rows = embedding_map(embeddings, max_points, seed, method)
    shown = (f"all {len(rows)} nodes" if len(rows) == len(embeddings)
             else f"{len(rows)} of {len(embeddings)} nodes (random, seed {seed})")
    panels = [(colours[rows], title) for colours, title in ((labels, "class label"), (groups, source))
              if colours is not None]
    fig = new_figure(5.5 * max(len(panels), 1), 5.0)
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, (colours, title) in zip(axes, panels):
        _scatter(ax, coords, colours, f"coloured by {title}")
    if not panels:
        axes[0].scatter(coords[:, 0], coords[:, 1], s=4, linewidths=0)
    fig.suptitle(f"{name}: {'t-SNE' if method == 'tsne' else 'UMAP'} of {shown}")
    write_png(out / "embeddings.png", fig)
    written.append(out / "embeddings.png")
    log(f"wrote {written[-1]}")
    return written


def _run_clusters(run_dir: Path, metrics: dict, embeddings: np.ndarray, labels: np.ndarray | None,
                  clusters: int | None, seed: int) -> tuple[np.ndarray | None, str]:
    """The cluster of every node and where it comes from: the run's ``clusters.npy`` (unless ``clusters`` asks for
    another k), else k-means on the embeddings; ``None`` and why when k is not known."""
    saved = run_dir / "clusters.npy"
    if clusters is None and saved.is_file():
        groups = np.load(saved)
        if len(groups) == len(embeddings):
            source = (metrics.get("clustering") or {}).get("source", "the run's clustering")
            return groups, f"cluster ({source}, clusters.npy)"
    k = clusters if clusters is not None else (int(labels.max()) + 1 if labels is not None else None)
    if k is None:
        return None, "the run saved no clusters.npy and has no labels: give --clusters K for k-means"
    if k > len(embeddings):
        raise ValueError(f"Expected --clusters to be at most the {len(embeddings)} embedding rows (got {k})")
    from .eval import kmeans

    return kmeans(embeddings, k, seed=seed), f"cluster (k-means, k = {k}, seed {seed})"

