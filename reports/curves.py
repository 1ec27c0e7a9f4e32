"""Loss and perplexity against steps for one run: `loss.png` and `ppl.png` (JHU hw5).

    write_run_plots(Path("runs/full_run/demo-1a2b3c4d"))   # -> [.../loss.png, .../ppl.png]

Train rows give the training curve (with the train loss each evaluation measured at steps no
train row has); val rows give the validation curve. A run with a handful of rows, or with no
validation yet, still gets both figures. The last validation value is marked and written on
both figures, and the perplexity axis always has a labelled tick at or below the lowest value, so
the run's headline number can be read off; the y label moves left of the widest tick label.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.ticker import FixedLocator

from gpt import rundir
from reports.figures import Figure, log_y, new_figure, pin_axis_labels, save_figure, set_title

LOG_MANTISSAS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0),
                 (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
                 (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.2, 2.5, 2.8, 3.0, 3.25, 3.5, 3.75, 4.0,
                  4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 9.0))
MAX_TICKS = 7
CHAR_IN = 0.085          # width of one tick-label character at the default font size (inches)


def log_ticks(low: float, high: float) -> list[float]:
    """Labelled ticks for a log axis over [low, high]: the densest 1-2-5-like set with at most
    MAX_TICKS inside, always starting at the largest tick <= low (so the minimum is labelled)."""
    low, high = max(low, 1e-12), max(high, low * 1.0001)
    best: list[float] = []
    for mantissas in LOG_MANTISSAS:
        first = math.floor(math.log10(low)) - 1
        cands = [m * 10.0 ** e for e in range(first, math.ceil(math.log10(high)) + 1) for m in mantissas]
        below = max(c for c in cands if c <= low * (1 + 1e-9))
        ticks = [c for c in cands if below <= c <= high * (1 + 1e-9)]
        if len(ticks) - 1 > MAX_TICKS and best:   # (the tick below the data is not counted)
            break
        best = ticks
    return best


@dataclass
class RunCurves:
    """Per-step series of one run, finite values only."""

    train_step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_ppl: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_ppl: list[float] = field(default_factory=list)


def _finite(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _ppl(row: dict, ppl_key: str, loss_key: str) -> float | None:
    """The row's perplexity, or exp(loss) for rows written before ppl was logged."""
    ppl = _finite(row.get(ppl_key))
    loss = _finite(row.get(loss_key))
    if ppl is None and loss is not None and loss < 700:  # exp(700) is near the float limit
        ppl = math.exp(loss)
    return ppl


def _series(rows: list[dict], loss_key: str, ppl_key: str) -> tuple[list, list, list]:
    steps, losses, ppls = [], [], []
    for row in rows:
        loss, ppl = _finite(row.get(loss_key)), _ppl(row, ppl_key, loss_key)
        if loss is not None and ppl is not None:
            steps.append(row["step"])
            losses.append(loss)
            ppls.append(ppl)
    return steps, losses, ppls


def read_curves(rows: list[dict]) -> RunCurves:
    """Curves from metrics.jsonl rows; repeated steps after a resume keep the last row.

    The train curve takes every logged step: the train rows, plus the train-split loss each
    evaluation measured at steps without a train row (a short run logs few train rows: 4 steps
    at log_interval 10 log one, while its evaluations measured the train split at 0, 2 and 4).
    """
    train_rows = rundir.latest_per_step(rows, "train")
    val_rows = rundir.latest_per_step(rows, "val")
    logged = {row.get("step") for row in train_rows}
    evaluated = [{"step": r["step"], "loss": r.get("train_loss"), "ppl": r.get("train_ppl")}
                 for r in val_rows if r.get("step") not in logged]
    merged = sorted(train_rows + evaluated, key=lambda r: r.get("step", 0))
    train = _series(merged, "loss", "ppl")
    val = _series(val_rows, "loss", "ppl")
    return RunCurves(*train, *val)


class RunPlotter:
    """The loss and perplexity figures, built once and refilled per run.

    A report draws hundreds of runs; refilling two figures is about twice as fast as building
    new ones, and the figures `draw` returns can be inspected before they are saved.
    """

    def __init__(self) -> None:
        self.loss_fig, (self._loss_ax,) = new_figure(left_in=0.95)   # room for 6-digit ticks
        self.ppl_fig, (self._ppl_ax,) = new_figure(left_in=0.95)
        log_y(self._ppl_ax)
        self._lines = {}
        for what, ax in (("loss", self._loss_ax), ("ppl", self._ppl_ax)):
            pin_axis_labels(ax)
            ax.set_xlabel("step")
            ax.set_ylabel("loss (nats/token)" if what == "loss" else "perplexity (log scale)")
            self._lines[what, "train"], = ax.plot([], [], color="C0", lw=1.2, ms=3, label="train")
            self._lines[what, "val"], = ax.plot([], [], "o-", color="C1", ms=3, label="validation")
            ax.legend(loc="upper right")
        self._notes = [ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", color="0.4")
                       for ax in (self._loss_ax, self._ppl_ax)]
        # the last validation value: a dotted line across, its number in the legend (clear of the curves)
        self._final = {what: ax.axhline(float("nan"), color="C1", lw=0.8, ls=":")
                       for what, ax in (("loss", self._loss_ax), ("ppl", self._ppl_ax))}

    def draw(self, curves: RunCurves, title: str) -> tuple[Figure, Figure]:
        """Fill both figures with `curves`; returns (loss figure, perplexity figure)."""
        values = {("loss", "train"): curves.train_loss, ("ppl", "train"): curves.train_ppl,
                  ("loss", "val"): curves.val_loss, ("ppl", "val"): curves.val_ppl}
        for (what, split), line in self._lines.items():
            steps = curves.train_step if split == "train" else curves.val_step
            line.set_data(steps, values[what, split])
            if split == "train":  # a lone point has no line to show it
                line.set_marker("o" if len(steps) < 3 else "")
        note = "" if curves.val_step else "no validation rows yet"
        if not curves.val_step and not curves.train_step:
            note = "no metrics yet"
        for ax, what in ((self._loss_ax, "loss"), (self._ppl_ax, "perplexity")):
            ax.relim()
            ax.autoscale_view()
            set_title(ax, f"{title}: {what}")
        self._mark_final(curves)
        ppls = curves.train_ppl + curves.val_ppl
        if ppls:   # a labelled tick at or below the lowest perplexity (the headline number)
            ticks = log_ticks(min(ppls), max(ppls))
            self._ppl_ax.yaxis.set_major_locator(FixedLocator(ticks))
            self._ppl_ax.set_ylim(ticks[0] / 1.02, max(max(ppls), ticks[-1]) * 1.05)
        for ax in (self._loss_ax, self._ppl_ax):   # the y label clear of the widest tick label
            low, high = ax.get_ylim()
            labels = [f"{t:g}" for t in ax.get_yticks() if low <= t <= high]
            pin_axis_labels(ax, y_offset_in=0.15 + CHAR_IN * max(map(len, labels), default=3))
        for artist in self._notes:
            artist.set_text(note)
        return self.loss_fig, self.ppl_fig

    def _mark_final(self, curves: RunCurves) -> None:
        for (what, values), ax in zip((("loss", curves.val_loss), ("ppl", curves.val_ppl)),
                                      (self._loss_ax, self._ppl_ax)):
            line = self._final[what]
            value = values[-1] if values else float("nan")
            line.set_ydata([value, value])
            shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if what == "loss" else f"{value:.2f}"
            line.set_label(f"final val {what} {shown}" if values else "_nolegend_")
            ax.legend(loc="upper right")

    def write(self, curves: RunCurves, title: str, out_dir: Path) -> list[Path]:
        """Draw and save `loss.png` and `ppl.png` into `out_dir`."""
        loss_fig, ppl_fig = self.draw(curves, title)
        return [save_figure(loss_fig, Path(out_dir) / rundir.LOSS_PLOT),
                save_figure(ppl_fig, Path(out_dir) / rundir.PPL_PLOT)]


def write_run_plots(run_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write loss.png and ppl.png for the run in `run_dir` into `out_dir` (default: the run dir).

    Train and validation curves against steps, perplexity on a log axis, titled with the run's
    config name. Returns the two paths.
    """
    run_dir = Path(run_dir)
    curves = read_curves(rundir.read_jsonl(run_dir / rundir.METRICS))
    try:
        title = rundir.read_json(run_dir / rundir.CONFIG).get("name") or run_dir.name
    except (OSError, ValueError):
        title = run_dir.name
    return RunPlotter().write(curves, title, Path(out_dir) if out_dir else run_dir)
