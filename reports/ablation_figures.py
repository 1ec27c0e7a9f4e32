"""Figures of the attention ablation that stay readable with 20+ variants.

    ranking_figure(rows)   # sorted bars: leak-free val loss per variant, leaky ones hatched red
    curves_figure(rows)    # small multiples: each variant's val ppl, the default's curve in grey
    lengths_figure(rows)   # small multiples: val loss against context length

`rows` are one sweep's rows from `reports.ablation.ablation_groups`, best first. One panel
per variant instead of one line each: twenty lines in one axes reuse colours and hide each other.
"""
from __future__ import annotations

import math

from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from reports.curves import log_ticks
from reports.figures import Figure, new_figure, set_title

NCOLS = 5
PANEL_IN = (2.4, 1.7)     # width, height of one small-multiple panel (inches)
BAR_IN = 0.26             # height of one bar (inches)
LEAK_COLOUR, OK_COLOUR, REF_COLOUR = "tab:red", "tab:blue", "0.65"


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def ranking_figure(rows: list[dict]) -> Figure | None:
    """Horizontal bars of leak-free val loss, best at the top; a diamond at the whole-window loss;
    variants that see the future hatched red. None if no row has a leak-free loss."""
    rows = [r for r in rows if _finite(r["leak_free_loss"])]
    if not rows:
        return None
    label_in = 0.3 + 0.085 * max(len(r["variant"]) + (15 if r["sees_future"] else 0) for r in rows)
    fig, (ax,) = new_figure(figsize_in=(7.5 + label_in, 1.4 + BAR_IN * len(rows)), left_in=label_in,
                            right_in=2.1)
    ys = list(range(len(rows)))[::-1]            # best (first row) at the top
    losses = [r["leak_free_loss"] for r in rows]
    colours = [LEAK_COLOUR if r["sees_future"] else OK_COLOUR for r in rows]
    bars = ax.barh(ys, losses, color=colours, height=0.7)
    for bar, r in zip(bars, rows):
        if r["sees_future"]:
            bar.set_hatch("//")
            bar.set_edgecolor("white")
    window = [(y, r["window_loss"]) for y, r in zip(ys, rows) if _finite(r["window_loss"])]
    if window:
        ax.plot([w for _, w in window], [y for y, _ in window], "D", color="black", ms=3.5,
                mfc="none", label="whole-window val loss\n(one forward per window)")
    for y, loss in zip(ys, losses):
        ax.annotate(f"{loss:.3f}", (loss, y), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize="x-small")
    ax.set_yticks(ys, [r["variant"] + ("  [sees future]" if r["sees_future"] else "") for r in rows],
                  fontsize="small")
    low, high = min(losses + [w for _, w in window]), max(losses + [w for _, w in window])
    pad = max(0.05, 0.15 * (high - low))
    ax.set_xlim(low - pad, high + 2 * pad)       # bars start left of the best: differences show
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("leak-free val loss (nats/token; each position from its prefix only)")
    if window:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", frameon=False)
    set_title(ax, f"{len(rows)} attention variants by leak-free val loss (red, hatched: sees the future)")
    return fig


def _grid(n: int, title: str) -> tuple[Figure, list]:
    ncols = min(NCOLS, n)
    nrows = math.ceil(n / ncols)
    height_in = PANEL_IN[1] * nrows + 0.9
    fig, axes = new_figure(ncols=ncols, nrows=nrows, left_in=0.6, right_in=0.2,
                           figsize_in=(PANEL_IN[0] * ncols + 0.8, height_in))
    fig.subplots_adjust(hspace=0.7, wspace=0.25, top=1 - 0.65 / height_in, bottom=0.4 / height_in)
    fig.suptitle(title, fontsize="medium")
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _panel_title(ax, row: dict) -> None:
    flagged = row["sees_future"]
    ax.set_title(row["variant"] + (" [sees future]" if flagged else ""), fontsize="x-small", pad=3,
                 color=LEAK_COLOUR if flagged else "black")


def _reference(rows: list[dict]) -> dict | None:
    return next((r for r in rows if r["variant"].startswith("fused (default)")), None)


def curves_figure(rows: list[dict]) -> Figure | None:
    """One panel per variant: its validation perplexity against step (log y, shared limits),
    the default variant's curve in grey behind it. None without val curves."""
    rows = [r for r in rows if not r["run"].val.empty and "ppl" in r["run"].val]
    if not rows:
        return None
    ref = _reference(rows)
    fig, axes = _grid(len(rows), "Validation perplexity (log) against training step, one panel per "
                                 "variant (grey: the default, fused); y range: the last 3/4 of training")
    # shared y limits from the last three quarters of training: the first steps (ppl ~ vocab)
    # would squash the differences the ablation is about into a few pixels
    values = []
    for r in rows:
        val = r["run"].val
        late = val[val["step"] >= 0.25 * val["step"].max()]["ppl"]
        values += [v for v in late if _finite(v) and v > 0]
    low, high = min(values), max(values)
    ticks = log_ticks(low, high)
    for ax, row in zip(axes, rows):
        if ref is not None and ref is not row:
            ax.plot(ref["run"].val["step"], ref["run"].val["ppl"], color=REF_COLOUR, lw=1.0)
        ax.plot(row["run"].val["step"], row["run"].val["ppl"], lw=1.3,
                color=LEAK_COLOUR if row["sees_future"] else OK_COLOUR)
        ax.set_yscale("log")
        ax.set_ylim(min(low, ticks[0]) / 1.02, high * 1.05)
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.tick_params(labelsize="x-small")
        _panel_title(ax, row)
    return fig


def lengths_figure(rows: list[dict]) -> Figure | None:
    """One panel per variant with eval/lengths.json: val loss against context length (log2 x),
    the training length dotted. None without lengths."""
    rows = [r for r in rows if r["lengths"]]
    if not rows:
        return None

    def points(row):
        return [(p["length"], p["loss"]) for p in row["lengths"].get("rows") or []
                if isinstance(p, dict) and _finite(p.get("loss"))]
    fig, axes = _grid(len(rows), "Validation loss (nats/token) against context length, one panel per "
                                 "variant (dotted: training length)")
    losses = [y for r in rows for _, y in points(r)]
    lengths = sorted({p["length"] for r in rows for p in r["lengths"].get("rows") or [] if isinstance(p, dict)})
    for ax, row in zip(axes, rows):
        if points(row):
            xs, ys = zip(*points(row))
            ax.plot(xs, ys, "o-", ms=3, lw=1.2, color=LEAK_COLOUR if row["sees_future"] else OK_COLOUR)
        if isinstance(row["block_size"], int):
            ax.axvline(row["block_size"], color="0.4", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.xaxis.set_minor_locator(NullLocator())
        if losses:
            ax.set_ylim(min(losses) - 0.05, max(losses) + 0.05)
        ax.tick_params(labelsize="x-small")
        _panel_title(ax, row)
    return fig
