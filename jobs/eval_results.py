"""Birth-place accuracy records shared by `evaluate` and `london_baseline` (no job imports another).

    path = result_path(run_dir, "birth_dev.tsv", key)        # <run_dir>/eval/birth_dev.json
    result = cached(path, key) or write_result(path.parent, ...)

A result is reused only for the same key: the eval file's content (sha256) and every setting that
changes the answers (checkpoint, decoding, text_fidelity), stored in the result json itself.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gpt import rundir
from gpt.overrides import to_dict
from gpt.rundir_checks import check_eval_result
from jobs.common import write_env

KIND = "birthplace_accuracy"
MAX_REASONS = 20   # skipped_reasons lists this many; "skipped" counts them all


def _matches(path: Path, key: dict) -> bool | None:
    """Whether the result at `path` was computed under `key`; None when the name is free: no
    readable result there, or one older than some key field (it is scored again in its place)."""
    try:
        stored = rundir.read_json(path)
    except ValueError:   # not scored yet (or unreadable)
        return None
    if any(k not in stored for k in key):
        return None
    return all(stored[k] == v for k, v in key.items())


def result_path(run_dir: Path, eval_file: str, key: dict | None = None) -> Path:
    """Where the accuracy json of `run_dir` on `eval_file` goes: <run_dir>/eval/<stem>.json, or
    <stem>-<digest8>.json when that name already holds a result under another key (another file
    of that stem, or other settings): results are keyed by content and settings, not by name."""
    folder, stem = Path(run_dir) / rundir.EVAL, Path(eval_file).stem
    plain = folder / f"{stem}.json"
    if not key or _matches(plain, key) in (True, None):
        return plain
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
    return folder / f"{stem}-{digest}.json"


def cached(path: Path, key: dict) -> dict | None:
    """The stored result at `path` if it was computed under this key, else None (score it)."""
    return check_eval_result(rundir.read_json(path), path) if _matches(path, key) else None


def write_result(folder: Path, eval_file: str, questions: list[str], predictions: list[str],
                 places: list[str] | None, variant: str, skipped: list[str], stem: str = "",
                 **extra) -> dict:
    """Write <stem>.predictions.tsv and <stem>.json into `folder` and return the result."""
    stem = stem or Path(eval_file).stem
    # a prediction may contain a newline (it is in the vocabulary): keep one line per question
    lines = "".join(q + "\t" + p.replace("\n", "\\n") + "\n" for q, p in zip(questions, predictions))
    rundir.write_atomic(folder / f"{stem}.predictions.tsv", lines.encode())
    correct = total = accuracy = None
    if places is not None:
        total = len(places)
        correct = sum(p == g for p, g in zip(predictions, places))
        accuracy = 100.0 * correct / total
    result = {"kind": KIND, "variant": variant, "eval_file": eval_file, "correct": correct,
              "total": total, "accuracy": accuracy, "skipped": len(skipped),
              "skipped_reasons": skipped[:MAX_REASONS], "questions": len(questions),
              "predictions": f"{stem}.predictions.tsv", **extra}
    rundir.write_json(folder / f"{stem}.json", result)
    return result


def print_result(result: dict, where: Path) -> None:
    """Print the CS224n-style line `Correct: c out of t: p%` (or where predictions went)."""
    if result["total"] is None:
        print(f"No gold birth places in {result['eval_file']}; wrote {result['questions']} "
              f"predictions to {where}", flush=True)
    else:
        print(f"Correct: {result['correct']} out of {result['total']}: {result['accuracy']}%", flush=True)
    if result["skipped"]:
        print(f"skipped {result['skipped']} question(s), counted wrong: {result['skipped_reasons'][0]}",
              flush=True)


def write_record(run_dir: Path, cfg, result: dict, attempt: int) -> dict:
    """The scoring job's own run dir: config.json, env.json and summary.json (= done)."""
    rundir.write_json(run_dir / rundir.CONFIG, to_dict(cfg))
    write_env(run_dir, cfg.device, attempt)
    summary = {"status": "completed", "name": cfg.name, **result}
    rundir.write_json(run_dir / rundir.SUMMARY, summary)
    return {**summary, "run_dir": str(run_dir)}
