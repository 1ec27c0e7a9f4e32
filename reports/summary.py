"""The results table: one row per run, sorted by dataset, job, architecture, layers, optimizer.

Best validation perplexity is the lowest over all evaluations (not the last one); within each
dataset, job and architecture with two runs or more, the best is set in bold (perplexities of
different datasets or tasks are not comparable). Columns with no value at all (no experiment
numbers, no GPU, no classifier) are left out. A classification run (model.arch=classifier) is
rated by accuracy, never by perplexity: its ppl cells are empty and it fills "best val acc"
(best epoch: the epoch of that accuracy) and "test acc" instead. Written as Markdown, LaTeX and CSV from one `Table`.
"""
from __future__ import annotations

import math

import pandas as pd

from reports.load import Run
from reports.memory import steady_memory
from reports.tables import Table, fmt

COLUMNS = ["exp", "run", "job", "dataset", "status", "arch", "layers", "optimizer", "lr", "weight decay",
           "params", "best val ppl", "best val acc", "best epoch", "train ppl", "test acc", "s/epoch",
           "tokens/s", "GPU MB"]
# one format per kind of number: integers with separators, ratios with two decimals
FORMATS = {"exp": "d", "layers": "d", "lr": "g", "weight decay": "g", "params": ",d",
           "best val ppl": ".2f", "best val acc": ".4f", "test acc": ".4f", "best epoch": ".2f",
           "train ppl": ".2f", "s/epoch": ".1f", "tokens/s": ",.0f", "GPU MB": ",.0f"}
OPTIONAL = ("exp", "GPU MB", "best val acc", "test acc")   # left out when no run has a value
BEST = "best val ppl"
GROUP = ["dataset", "job", "arch"]   # bold compares runs within these only
DESCRIPTIONS = {
    "exp": "experiment number", "job": "the job that ran it", "dataset": "data.dataset",
    "status": "incomplete = no summary.json yet (cut short or still running; its numbers so far)",
    "lr": "learning rate",
    "params": "trainable parameters (frozen ones are on the run card; runs before the split: all)",
    "best val ppl": "lowest validation perplexity over all evaluations, reached at best epoch",
    "train ppl": "training perplexity measured at that evaluation",
    "best val acc": "classification runs: highest validation accuracy (best.pt), at best epoch",
    "test acc": "classification runs: test accuracy of that checkpoint",
    "s/epoch": "training wall-clock seconds per epoch", "tokens/s": "median training throughput",
    "GPU MB": "steady-state allocated GPU memory (median after warm-up)"}


def _number(value) -> float | int | None:
    """`value` if it is a finite number (ints stay ints), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _arch(run: Run) -> str | None:
    """model.arch; a model section without one predates LSTMs, so it is the default GPT."""
    if isinstance(run.cfg("model"), dict) and "arch" not in run.cfg("model"):
        return "gpt"
    return _text(run.cfg("model.arch"))


def _float(value) -> float | None:
    """numpy and Python numbers as a plain float; None if missing or not finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _best_eval(run: Run) -> dict:
    """ppl, epoch and train_ppl of the lowest-perplexity val row, else the summary's best."""
    if "ppl" in run.val and run.val["ppl"].notna().any():
        row = run.val.loc[run.val["ppl"].idxmin()]
        return {"ppl": row["ppl"], "epoch": row.get("epoch"), "train_ppl": row.get("train_ppl")}
    s = run.summary
    return {"ppl": s.get("best_val_ppl"), "epoch": s.get("best_epoch"), "train_ppl": s.get("best_train_ppl")}


def _seconds_per_epoch(run: Run) -> float | None:
    """Training seconds per epoch at the last logged row (elapsed_s spans all attempts)."""
    rows = run.train if "elapsed_s" in run.train and "epoch" in run.train else run.val
    if "elapsed_s" in rows and "epoch" in rows:
        last = rows.dropna(subset=["elapsed_s", "epoch"])
        last = last[last["epoch"] > 0]
        if len(last):
            return float(last["elapsed_s"].iloc[-1] / last["epoch"].iloc[-1])
    wall, epochs = _number(run.summary.get("wall_s")), _number(run.summary.get("epochs"))
    return wall / epochs if wall and epochs else None


def _tokens_per_s(run: Run) -> float | None:
    if _number(run.summary.get("tokens_per_s")):
        return float(run.summary["tokens_per_s"])
    if "tokens_per_s" in run.train and run.train["tokens_per_s"].notna().any():
        return float(run.train["tokens_per_s"].iloc[len(run.train) // 10:].median())
    return None


def _classifier_eval(run: Run) -> dict:
    s = run.summary
    return {"ppl": None, "train_ppl": None, "epoch": s.get("best_epoch"),
            "acc": s.get("best_val_accuracy"), "test_acc": s.get("test_accuracy")}


def run_row(run: Run) -> dict:
    """The summary-table values of one run (raw numbers; None where unknown)."""
    best = _classifier_eval(run) if run.cfg("model.arch") == "classifier" else _best_eval(run)
    return {
        "exp": run.ref.exp, "run": run.ref.title, "job": run.ref.job,
        "dataset": _text(run.cfg("data.dataset")), "status": run.status,
        "arch": _arch(run), "layers": _number(run.cfg("model.n_layer")),
        "optimizer": _text(run.cfg("optim.name")), "lr": _number(run.cfg("optim.lr")),
        "weight decay": _number(run.cfg("optim.weight_decay")),
        "params": _number(_trainable_params(run)),
        "best val ppl": _float(best["ppl"]), "best epoch": _float(best["epoch"]),
        "train ppl": _float(best["train_ppl"]), "best val acc": _float(best.get("acc")),
        "test acc": _float(best.get("test_acc")), "s/epoch": _seconds_per_epoch(run),
        "tokens/s": _tokens_per_s(run), "GPU MB": steady_memory(run)["allocated"],
    }


def _trainable_params(run: Run):
    """n_trainable of summary.json (or the start row); runs that predate it only have n_params."""
    for source in (run.summary, run.start):
        if source.get("n_trainable") is not None:
            return source["n_trainable"]
    return run.summary.get("n_params") or run.start.get("n_params")


def _sort_key(row: dict) -> tuple:
    """dataset, job, arch, layers, optimizer, exp, name; a missing value sorts after every present one."""
    return tuple((row[c] is None, row[c] if row[c] is not None else 0)
                 for c in ("dataset", "job", "arch", "layers", "optimizer", "exp", "run"))


def summary_rows(runs: list[Run]) -> list[dict]:
    """One dict per run, sorted by dataset, job, arch, layers, optimizer, then exp and name."""
    return sorted((run_row(run) for run in runs), key=_sort_key)


def summary_frame(runs: list[Run]) -> pd.DataFrame:
    """The summary rows as a frame, columns in table order."""
    return pd.DataFrame(summary_rows(runs), columns=COLUMNS)


def best_per_group(frame: pd.DataFrame) -> list[int]:
    """Row positions holding the lowest best val ppl of each dataset, job and architecture that
    has at least two rated runs (a lone run is not "best" of anything)."""
    rated = frame.dropna(subset=[BEST, "arch"]).fillna({"dataset": "", "job": ""})  # old configs
    groups = rated.groupby(GROUP)[BEST]
    return sorted(int(i) for i, size in zip(groups.idxmin(), groups.size()) if size > 1)


def _caption(columns: list[str]) -> str:
    described = "; ".join(f"{c}: {DESCRIPTIONS[c]}" for c in columns if c in DESCRIPTIONS)
    return (f"Runs sorted by dataset, job, architecture, layers and optimizer. {described}. "
            "Bold: the lowest best val ppl among runs of the same dataset, job and architecture "
            "(perplexities of different datasets are not comparable).")


def summary_table(runs: list[Run]) -> Table:
    """The results table with display strings, bold best per dataset/job/arch, raw values for CSV."""
    records = summary_rows(runs)
    columns = [c for c in COLUMNS if c not in OPTIONAL or any(r[c] is not None for r in records)]
    rows = [[fmt(r[c], FORMATS.get(c, "s")) for c in columns] for r in records]
    best_col = columns.index(BEST)
    bold = {(r, best_col) for r in best_per_group(pd.DataFrame(records, columns=COLUMNS))}
    return Table(columns, rows, _caption(columns), bold, [[r[c] for c in columns] for r in records])
