"""Classification runs (UW CSE 447/517 attention assignment §3): accuracy curves per run, and the grid of runs as a table.

    write_accuracy_plot(Path("runs/classify/smoke-1a2b3c4d"))   # -> .../accuracy.png
    table = classify_table(classify_rows(runs))                  # best val accuracy in bold

A classification run is one whose model.arch is "classifier". Its val rows carry `accuracy`
(validation) and `train_accuracy` (the train split, measured at the same evaluation), plotted
against epochs; summary.json carries the best checkpoint's validation and test accuracy.
"""
from __future__ import annotations

import math
from pathlib import Path

from gpt import rundir
from matplotlib import colormaps

from reports.figures import Figure, new_figure, pin_axis_labels, save_figure, set_title
from reports.load import Run
from reports.tables import Table, fmt

COLUMNS = ["run", "backbone", "optimizer", "batch size", "lr", "epochs", "best val acc",
           "best epoch", "test acc"]


def _finite(value) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def accuracy_series(rows: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """{"train": (epochs, accuracies), "val": (...)} from metrics.jsonl rows (last row per step)."""
    out = {"train": ([], []), "val": ([], [])}
    for row in rundir.latest_per_step(rows, "val"):
        epoch = _finite(row.get("epoch"))
        for split, key in (("train", "train_accuracy"), ("val", "accuracy")):
            value = _finite(row.get(key))
            if epoch is not None and value is not None:
                out[split][0].append(epoch)
                out[split][1].append(value)
    return out


def accuracy_figure(rows: list[dict], title: str) -> Figure:
    """Train and validation accuracy against epochs, one evaluation per point."""
    fig, (ax,) = new_figure()
    pin_axis_labels(ax)
    series = accuracy_series(rows)
    for split, style, label in (("train", "s--", "train"), ("val", "o-", "validation")):
        epochs, values = series[split]
        ax.plot(epochs, values, style, ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right")
    set_title(ax, f"{title}: accuracy")
    return fig


def group_accuracy_figure(title: str, series: dict[str, dict], best: str | None = None,
                          best_note: str = "") -> Figure:
    """Validation (left) and train (right) accuracy against epochs of a group's classification
    runs, one colour per run; `series` maps labels to `accuracy_series(rows)`; `best` (a label)
    is drawn thicker, starred in the legend and followed by `best_note` (its val/test accuracy)."""
    legend_in = 0.6 + 0.06 * max(len(label) + 2 + (len(best_note) + 1 if label == best else 0) for label in series)
    fig, axes = new_figure(ncols=2, figsize_in=(11.0 + legend_in, 4.8), right_in=legend_in)
    colours = colormaps["tab10" if len(series) <= 10 else "tab20"].colors
    for ax, split, name in ((axes[0], "val", "validation"), (axes[1], "train", "train")):
        pin_axis_labels(ax)
        for i, (label, s) in enumerate(series.items()):
            epochs, values = s[split]
            ax.plot(epochs, values, "o-", ms=3, color=colours[i % len(colours)],
                    lw=2.4 if label == best else 1.1,
                    label=f"* {label} {best_note}".rstrip() if label == best else label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{name} accuracy")
        set_title(ax, f"{title}: {name} accuracy against epochs")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="x-small", frameon=False)
    return fig


def best_run(rows: list[dict]) -> dict | None:
    """The row with the highest best val accuracy (its test accuracy is the one to report)."""
    rated = [r for r in rows if r["best val acc"] is not None]
    return max(rated, key=lambda r: r["best val acc"]) if rated else None


def write_accuracy_plot(run_dir: Path, out_dir: Path | None = None) -> Path:
    """accuracy.png of the run in `run_dir`, into `out_dir` (default: the run dir)."""
    run_dir = Path(run_dir)
    fig = accuracy_figure(rundir.read_jsonl(run_dir / rundir.METRICS), run_dir.name)
    return save_figure(fig, Path(out_dir or run_dir) / rundir.ACCURACY_PLOT)


def is_classifier(run: Run) -> bool:
    """True for a classification run (model.arch=classifier)."""
    return run.cfg("model.arch") == "classifier"


def classify_rows(runs: list[Run]) -> list[dict]:
    """One dict per classification run: its grid settings, best val accuracy and test accuracy."""
    rows = []
    for run in filter(is_classifier, runs):
        s = run.summary
        key = run.ref.key
        source = run.cfg("model.source", "gpt")
        if source == "gpt" and run.cfg("init_from"):
            source = f"gpt from {Path(run.cfg('init_from')).name}"
        rows.append({"run": run.ref.title, "backbone": source, "optimizer": run.cfg("optim.name"),
                     "batch size": run.cfg("train.batch_size"), "lr": run.cfg("optim.lr"),
                     "epochs": run.cfg("train.epochs"),
                     "best val acc": _finite(s.get("best_val_accuracy")),
                     "best epoch": _finite(s.get("best_epoch")),
                     "test acc": _finite(s.get("test_accuracy")), "completed": run.completed,
                     "key": key})
    return rows


def classify_table(rows: list[dict]) -> Table:
    """The grid: one row per run, highest best-val-accuracy first; the best run's val and test
    accuracy in bold (the test accuracy belongs to the checkpoint chosen by validation)."""
    rows = sorted(rows, key=lambda r: -(r["best val acc"] if r["best val acc"] is not None else -1))
    specs = {"lr": "g", "best val acc": ".4f", "best epoch": ".2f", "test acc": ".4f", "epochs": "g"}
    cells = [[(r["run"] + ("" if r["completed"] else " (incomplete)")) if c == "run"
              else fmt(r[c], specs.get(c, "g")) for c in COLUMNS] for r in rows]
    bold = set()
    if rows and rows[0]["best val acc"] is not None:
        bold = {(0, COLUMNS.index("best val acc")), (0, COLUMNS.index("test acc"))}
    caption = ("Classification runs: best validation accuracy over the evaluations (the epoch of "
               "checkpoints/best.pt) and the test accuracy of that checkpoint; best in bold.")
    return Table(COLUMNS, cells, caption, bold, [[r[c] for c in COLUMNS] for r in rows])
