"""Perplexity curves of a group's runs overlaid (SPEC B): against epochs and against wall-clock.

Both panels take the train and validation perplexity measured at each evaluation (val rows),
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


Curves = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]   # (split, x) -> (x values, ppl)


def group_curves(run: Run) -> Curves:
    """{("val" | "train", "epoch" | "elapsed_s"): (x, ppl)}: finite points only, as arrays."""
    val = run.val
    has_train_ppl = "train_ppl" in val and val["train_ppl"].notna().any()
    sources = {"val": (val, "ppl"), "train": (val, "train_ppl") if has_train_ppl else (run.train, "ppl")}
    curves = {}
    for split, (frame, column) in sources.items():
        ppl = _column(frame, column)
        for x in X_AXES:
            xs = _column(frame, x)
            keep = np.isfinite(xs) & np.isfinite(ppl) & (ppl > 0)
            curves[split, x] = (xs[keep], ppl[keep])
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


def _plot_runs(ax, curves: dict[str, Curves], labels: dict[str, str], x: str, colors) -> None:
    span = max((xs.max() for run in curves.values() for (_, axis), (xs, _) in run.items()
                if axis == x and len(xs)), default=0.0)
    unit, scale = time_unit(span) if x == "elapsed_s" else ("", 1.0)
    for i, (key, run_curves) in enumerate(curves.items()):
        for split, style in (("val", "-"), ("train", "--")):
            xs, ppl = run_curves[split, x]
            ax.plot(xs / scale, ppl, style, color=colors[i % len(colors)], lw=1.2,
                    marker="o" if len(xs) < 3 else "", ms=3,
                    label=labels[key] if split == "val" else "_nolegend_")
    log_y(ax)
    pin_axis_labels(ax)
    ax.set_xlabel(f"{X_AXES[x]} ({unit})" if unit else X_AXES[x])
    ax.set_ylabel("perplexity (log scale)")


def group_figure(title: str, curves: dict[str, Curves], labels: dict[str, str]) -> Figure:
    """Train (dashed) and validation (solid) perplexity of every run against epochs (left) and
    wall-clock time (right), one legend for both. `curves` maps run keys to `group_curves(run)`.
    """
    show_legend = len(curves) <= MAX_LEGEND_RUNS
    legend_in = 0.6 + LEGEND_IN_PER_CHAR * max(map(len, labels.values()), default=0) if show_legend else 0.2
    fig, axes = new_figure(ncols=2, figsize_in=(11.0 + legend_in, 4.5), right_in=legend_in)
    colors = colormaps["tab10" if len(curves) <= 10 else "tab20"].colors
    for ax, x in zip(axes, X_AXES):
        _plot_runs(ax, curves, labels, x, colors)
        set_title(ax, f"{title}: perplexity against {X_AXES[x]}")
    if show_legend:
        style = [Line2D([], [], color="0.3", ls="-", label="validation"),
                 Line2D([], [], color="0.3", ls="--", label="train")]
        handles, names = axes[-1].get_legend_handles_labels()
        axes[-1].legend(handles + style, names + ["validation", "train"], loc="upper left",
                        bbox_to_anchor=(1.02, 1.0), fontsize="x-small", frameon=False)
    return fig
