"""Benchmarks callable from the command line (``graphcl bench clustering ...``) and from ``benchmarks/``, and their
figures (names imported on first use)."""
from .. import _lazy_exports

_EXPORTS = {
    **dict.fromkeys(("BENCH_METHODS", "DEFAULT_DATASETS", "PUBLISHED", "ClusteringResult", "run_benchmark",
                     "score_clustering", "summarise"), ".clustering"),
    **dict.fromkeys(("Bar", "bar_chart_png", "line_chart_png"), ".plots"),
}
__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)

__all__ = ["BENCH_METHODS", "DEFAULT_DATASETS", "PUBLISHED", "ClusteringResult", "run_benchmark",
           "score_clustering", "summarise", "Bar", "bar_chart_png", "line_chart_png"]
