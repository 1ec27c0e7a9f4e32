"""Loss and perplexity curves of a group's runs overlaid: against epochs and against wall-clock.

All four panels take the train and validation values measured at each evaluation (val rows),
so the two curves of a run share x values; runs without evaluations fall back to the train
rows. Colour = run (labelled by what differs between the runs), solid = validation, dashed =
train. Wall-clock is `elapsed_s`, training time summed over attempts, so resumes leave no gap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.lines import Line2D

from reports.figures import Figure, log_y, new_figure, pin_axis_labels, set_title
from reports.load import Run

MAX_LEGEND_RUNS = 30   # beyond this a legend hides the plot; the caption says so instead
LEGEND_IN_PER_CHAR = 0.06  # width of one x-small legend character, to size the right margin
X_AXES = {"epoch": "epoch", "elapsed_s": "training wall-clock time"}


METRICS = {"loss": "loss (nats/token)", "ppl": "perplexity (log scale)"}
# (metric, split, x) -> (x values, metric values)
Curves = dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]


def group_curves(run: Run) -> Curves:
    """{("loss" | "ppl", "val" | "train", "epoch" | "elapsed_s"): (x, y)}: finite points only."""
    val = run.val
    curves = {}
    for metric in METRICS:
        train_col = f"train_{metric}"
        has_train = train_col in val and val[train_col].notna().any()
        sources = {"val": (val, metric), "train": (val, train_col) if has_train else (run.train, metric)}
        for split, (frame, column) in sources.items():
            ys = _column(frame, column)
            for x in X_AXES:
                xs = _column(frame, x)
                keep = np.isfinite(xs) & np.isfinite(ys) & ((ys > 0) if metric == "ppl" else True)
                curves[metric, split, x] = (xs[keep], ys[keep])
    return curves


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def time_unit(seconds: float) -> tuple[str, float]:
    """A readable unit for a span of `seconds`: ("s", 1), ("min", 60) or ("h", 3600)."""
    if seconds >= 3 * 3600:
        return "h", 3600.0
    return ("min", 60.0) if seconds >= 600 else ("s", 1.0)


def _plot_runs(ax, curves: dict[str, Curves], labels: dict[str, str], metric: str, x: str,
               colors) -> None:
    span = max((xs.max() for run in curves.values() for (_, _, axis), (xs, _) in run.items()
                if axis == x and len(xs)), default=0.0)
    unit, scale = time_unit(span) if x == "elapsed_s" else ("", 1.0)
    for i, (key, run_curves) in enumerate(curves.items()):
        for split, style in (("val", "-"), ("train", "--")):
            xs, ys = run_curves[metric, split, x]
            ax.plot(xs / scale, ys, style, color=colors[i % len(colors)], lw=1.2,
                    marker="o" if len(xs) < 3 else "", ms=3,
                    label=labels[key] if split == "val" else "_nolegend_")
    if metric == "ppl":
        log_y(ax)
    pin_axis_labels(ax)
    ax.set_xlabel(f"{X_AXES[x]} ({unit})" if unit else X_AXES[x])
    ax.set_ylabel(METRICS[metric])


def group_figure(title: str, curves: dict[str, Curves], labels: dict[str, str]) -> Figure:
    """Train (dashed) and validation (solid) loss (top) and perplexity (bottom) of every run
    against epochs (left) and wall-clock time (right), one legend for all. `curves` maps run
    keys to `group_curves(run)`.
    """
    show_legend = len(curves) <= MAX_LEGEND_RUNS
    # "validation" is in the legend too: the margin fits the longest of all entries
    legend_in = 0.6 + LEGEND_IN_PER_CHAR * max(map(len, [*labels.values(), "validation"])) if show_legend else 0.2
    fig, axes = new_figure(ncols=2, nrows=2, figsize_in=(11.0 + legend_in, 8.0), right_in=legend_in)
    colors = colormaps["tab10" if len(curves) <= 10 else "tab20"].colors
    panels = [(metric, x) for metric in METRICS for x in X_AXES]
    for ax, (metric, x) in zip(axes, panels):
        _plot_runs(ax, curves, labels, metric, x, colors)
        set_title(ax, f"{title}: {'loss' if metric == 'loss' else 'perplexity'} against {X_AXES[x]}")
    if show_legend:
        style = [Line2D([], [], color="0.3", ls="-", label="validation"),
                 Line2D([], [], color="0.3", ls="--", label="train")]
        handles, names = axes[1].get_legend_handles_labels()
        axes[1].legend(handles + style, names + ["validation", "train"], loc="upper left",
                        bbox_to_anchor=(1.02, 1.0), fontsize="x-small", frameon=False)
    return fig
