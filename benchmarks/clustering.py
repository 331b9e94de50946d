"""Graph clustering benchmark: k-means, spectral, GRACE, CSGCL, PamC (hard / soft) and the dense loss side by side.

A thin wrapper around :mod:`graphcl.bench.clustering` (also ``graphcl bench clustering``); see docs/clustering.md.

Usage::

    python benchmarks/clustering.py --smoke --out /tmp/clustering-smoke
    python benchmarks/clustering.py --datasets Cora CiteSeer --seeds 10 --out benchmarks/results/clustering
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphcl.bench.clustering import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
