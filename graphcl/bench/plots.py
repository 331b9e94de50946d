"""Figures of the benchmarks and of ``graphcl plot``: a grouped bar chart of a results table, line charts of
losses, written as PNG files (atomically, :func:`graphcl.train.write_png`).

matplotlib is the ``bench`` extra (``pip install 'graphcl[bench]'``); figures are drawn with its object API
(``matplotlib.figure.Figure``), so no display and no global backend is involved.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..train import write_png

__all__ = ["BENCH_EXTRA", "Bar", "require_matplotlib", "new_figure", "bar_chart_png", "line_chart_png"]

#: Line styles of :func:`line_chart_png`, one per pass through the colour cycle.
_STYLES = ("-", "--", ":", "-.")

BENCH_EXTRA = "pip install 'graphcl[bench]'"


class Bar(NamedTuple):
    """One bar of a grouped bar chart: its group on the x axis (e.g. the dataset), its series (e.g. the method,
    one colour per series), the value and the error bar's half-height (e.g. the std over seeds; ``None``: none)."""

    group: str
    series: str
    value: float
    error: float | None = None


def require_matplotlib() -> None:
    """A one-line ``ImportError`` naming the extra to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ImportError(f"Plots need matplotlib, which is not installed: {BENCH_EXTRA}") from err


def new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches with the constrained layout (titles, labels and
    legends outside the axes all fit), after :func:`require_matplotlib`."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def bar_chart_png(path: str | os.PathLike, bars: Sequence[Bar], ylabel: str, title: str) -> None:
    """A grouped bar chart (one group of bars per ``group``, one colour per ``series``, both in first-seen order,
    error bars where given), written to ``path`` as a PNG; a (group, series) without a bar leaves a gap."""
    if not bars:
        raise ValueError("Expected at least one bar (got none)")
    groups = list(dict.fromkeys(b.group for b in bars))
    series = list(dict.fromkeys(b.series for b in bars))
    width = 0.8 / len(series)
    fig = new_figure(max(6.0, 2.5 + len(groups) * (0.4 + 0.25 * len(series))), 4.5)
    ax = fig.add_subplot()
    for i, name in enumerate(series):
        mine = [b for b in bars if b.series == name]
        x = np.array([groups.index(b.group) for b in mine]) + (i - (len(series) - 1) / 2) * width
        errors = None if all(b.error is None for b in mine) else [np.nan if b.error is None else b.error
                                                                  for b in mine]
        ax.bar(x, [b.value for b in mine], width, yerr=errors, capsize=3, label=name)
    tilt = len(groups) > 6
    ax.set_xticks(range(len(groups)), groups, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    write_png(path, fig)


def line_chart_png(path: str | os.PathLike, lines: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                   xlabel: str, ylabel: str, title: str) -> None:
    """One line per entry of ``lines`` (label -> (x, y)), written to ``path`` as a PNG; lines of fewer than 10
    points get markers (a one-point line is a visible dot). Past the colour cycle the lines change style (dashed,
    dotted, ...), so no two lines look alike; the legend sits beside the axes, not over the lines."""
    if not lines:
        raise ValueError("Expected at least one line (got none)")
    legend_beside = len(lines) > 6
    fig = new_figure(9.5 if legend_beside else 7.0, 4.0)
    from matplotlib import rcParams

    colours = len(rcParams["axes.prop_cycle"].by_key()["color"])
    ax = fig.add_subplot()
    for i, (label, (x, y)) in enumerate(lines.items()):
        ax.plot(x, y, label=label, marker="o" if len(x) < 10 else None,
                linestyle=_STYLES[i // colours % len(_STYLES)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    if legend_beside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    else:
        ax.legend()
    ax.grid(alpha=0.3)
    write_png(path, fig)
