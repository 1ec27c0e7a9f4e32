"""Checks of the JSON files a run dir holds, before anything trusts them. Standard library only:
`gpt.rundir` (and through it `reports/`) uses them.

    check_summary(obj, path)       # summary.json: RunFileError naming the file and the key
    valid_metrics_row(row)         # a metrics.jsonl row whose step and figures have sane types
    check_eval_result(obj, path)   # eval/<name>.json: counts and accuracy that agree

A run dir is a folder users copy, edit and share, so a value read back may be of any type: a
string where a loss goes, NaN, a negative step, 1e300. Every message has the shape
`<file>: <what is wrong>; <what to do>`, and RunFileError is one of the errors main.py prints on
one line (exit 2).
"""
from __future__ import annotations

import math
from pathlib import Path

FIX = "restore the file from a backup, or delete it (the run then resumes or re-scores)"


class RunFileError(ValueError):
    """A run-dir file is missing, not valid JSON, not an object, or holds a value no run writes;
    the message names the file."""


def is_int(value) -> bool:
    """True for an int that is not a bool (JSON `true` parses as a bool, which is an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """True for a finite int or float (not a bool): what a measured figure can be."""
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _bad(path: Path, key: str, value, want: str, fix: str = FIX) -> RunFileError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return RunFileError(f"{path}: {key}={shown} is not {want}; {fix}")


# summary.json keys every job may write, and what each can be (absent is fine: jobs differ)
_SUMMARY_INTS = {"steps": 0, "best_step": -1, "n_params": 0, "attempts": 1, "world_size": 1,
                 "test_step": 0, "test_examples": 0}


def _summary_figure_ok(key: str, value) -> bool:
    if value is None:
        return True
    if key.endswith("_accuracy"):
        return is_number(value) and 0 <= value <= 1
    if key.endswith(("_loss", "_ppl")):   # +inf: no evaluation was ever better (never NaN)
        return (is_number(value) or value == math.inf) and value >= 0
    return is_number(value) and value >= 0


def check_summary(obj: dict, path: Path) -> dict:
    """`obj` (summary.json at `path`) if every known key holds what a run writes, else RunFileError."""
    status = obj.get("status", "completed")
    if not isinstance(status, str):
        raise _bad(path, "status", status, "a string")
    for key, low in _SUMMARY_INTS.items():
        if key in obj and not (is_int(obj[key]) and low <= obj[key] < 2**63):
            raise _bad(path, key, obj[key], f"an integer >= {low}")
    for key, value in obj.items():
        figure = key.endswith(("_loss", "_ppl", "_accuracy", "_s", "_mb", "_pct")) or key in (
            "epochs", "best_epoch", "tokens_per_s", "ms_per_step")
        if figure and not _summary_figure_ok(key, value):
            want = "a number in [0, 1]" if key.endswith("_accuracy") else "a finite number >= 0 (or null)"
            raise _bad(path, key, value, want)
    if is_int(obj.get("best_step")) and is_int(obj.get("steps")) and obj["best_step"] > obj["steps"]:
        raise RunFileError(f"{path}: best_step={obj['best_step']} is after steps={obj['steps']}; {FIX}")
    return obj


# the figures of metrics.jsonl rows (gpt/rundir.py's docstring lists the kinds and fields)
_ROW_FIGURES = ("epoch", "loss", "ppl", "lr", "ms_per_step", "tokens_per_s", "elapsed_s", "accuracy",
                "train_loss", "train_ppl", "train_accuracy", "iters_per_epoch", "mfu_pct",
                "gpu_mem_allocated_mb", "gpu_mem_reserved_mb", "gpu_mem_peak_allocated_mb")
_ROW_INTS = ("attempt", "n_params", "max_iters", "world_size")


def valid_metrics_row(row: dict) -> bool:
    """True when `row` has a string kind, an integer step >= 0 and its known figures are finite
    numbers (or null) and counters integers: a hand-edited or foreign row is not."""
    if not isinstance(row.get("kind"), str) or not (is_int(row.get("step")) and row["step"] >= 0):
        return False
    if any(key in row and row[key] is not None and not is_number(row[key]) for key in _ROW_FIGURES):
        return False
    return not any(key in row and not is_int(row[key]) for key in _ROW_INTS)


def check_eval_result(obj: dict, path: Path) -> dict:
    """`obj` (a birth-place accuracy record under eval/) if its counts are integers >= 0 and its
    accuracy (percent) is 100 * correct / total."""
    fix = "delete it: it is scored again"
    for key in ("correct", "total", "skipped", "questions"):
        if obj.get(key) is not None and not (is_int(obj[key]) and 0 <= obj[key] < 2**63):
            raise _bad(path, key, obj[key], "an integer >= 0", fix)
    correct, total, accuracy = obj.get("correct"), obj.get("total"), obj.get("accuracy")
    if accuracy is not None and not (is_number(accuracy) and 0 <= accuracy <= 100):
        raise _bad(path, "accuracy", accuracy, "a percentage in [0, 100]", fix)
    if total is not None and (correct is None or correct > total or accuracy is None
                              or abs(accuracy - 100.0 * correct / max(total, 1)) > 1e-6):
        raise RunFileError(f"{path}: correct={correct}, total={total} and accuracy={accuracy} do not "
                           f"agree (accuracy is 100 * correct / total); {fix}")
    return obj
