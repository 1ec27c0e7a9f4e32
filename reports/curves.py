"""Loss and perplexity against steps for one run: `loss.png` and `ppl.png` (JHU hw5).

    write_run_plots(Path("runs/full_run/demo-1a2b3c4d"))   # -> [.../loss.png, .../ppl.png]

Train rows give the training curve (or, before the first train row, the train loss measured at
each evaluation); val rows give the validation curve. A run with a handful of rows, or with no
validation yet, still gets both figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from gpt import rundir
from reports.figures import Figure, log_y, new_figure, pin_axis_labels, save_figure, set_title


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
    """Curves from metrics.jsonl rows; repeated steps after a resume keep the last row."""
    train_rows = rundir.latest_per_step(rows, "train")
    val_rows = rundir.latest_per_step(rows, "val")
    train = _series(train_rows, "loss", "ppl")
    if not train[0]:  # no train rows yet: the evaluation's train-split loss is the next best
        train = _series(val_rows, "train_loss", "train_ppl")
    val = _series(val_rows, "loss", "ppl")
    return RunCurves(*train, *val)


class RunPlotter:
    """The loss and perplexity figures, built once and refilled per run.

    A report draws hundreds of runs; refilling two figures is about twice as fast as building
    new ones, and the figures `draw` returns can be inspected before they are saved.
    """

    def __init__(self) -> None:
        self.loss_fig, (self._loss_ax,) = new_figure()
        self.ppl_fig, (self._ppl_ax,) = new_figure()
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
        for artist in self._notes:
            artist.set_text(note)
        return self.loss_fig, self.ppl_fig

    def write(self, curves: RunCurves, title: str, out_dir: Path) -> list[Path]:
        """Draw and save `loss.png` and `ppl.png` into `out_dir`."""
        loss_fig, ppl_fig = self.draw(curves, title)
        return [save_figure(loss_fig, Path(out_dir) / "loss.png"),
                save_figure(ppl_fig, Path(out_dir) / "ppl.png")]


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
