"""Independent check of a run's embeddings: scikit-learn logistic regression on ``embeddings.npy``.

    python benchmarks/check_embeddings.py runs/<run> [--splits 5]

Same protocol as graphcl's probe (random 10/10/80 splits, seeds 0..splits-1, rows L2-normalised), but the
classifier is scikit-learn's LogisticRegression with C chosen on the validation nodes, so the figure does not
depend on graphcl's own evaluation code.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from graphcl.data import load_graph
from graphcl.eval import random_split


def sklearn_probe(emb: np.ndarray, y: np.ndarray, splits: int) -> list[float]:
    x = normalize(emb)
    accs = []
    for seed in range(splits):
        tr, va, te = (s.numpy() for s in random_split(len(y), 0.1, 0.1, seed))
        best = max((LogisticRegression(C=c, max_iter=2000).fit(x[tr], y[tr]) for c in (0.1, 1.0, 10.0, 100.0)),
                   key=lambda clf: clf.score(x[va], y[va]))
        accs.append(best.score(x[te], y[te]))
    return accs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--root")
    args = parser.parse_args()
    run = Path(args.run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    y = load_graph(config["dataset"], args.root).y.numpy()
    accs = sklearn_probe(np.load(run / "embeddings.npy"), y, args.splits)
    ours = json.loads((run / "metrics.json").read_text())["linear_probe"]["accuracy_mean"]
    print(f"{config['method']} on {config['dataset']}: scikit-learn probe {100 * np.mean(accs):.2f} "
          f"+- {100 * np.std(accs):.2f} over {args.splits} splits; graphcl probe {100 * ours:.2f}")


if __name__ == "__main__":
    main()
