"""evaluate: greedy birth-place answers of a trained run on an eval TSV -> predictions and accuracy.

    python main.py evaluate init_from=runs/finetune/smoke-scratch-XXXXXXXX        # birth_dev.tsv
    python main.py evaluate --preset test init_from=runs/finetune/pretrained-XXXXXXXX   # no gold
    python main.py evaluate init_from=DIR data.val_split=/path/to/my_questions.tsv device=cpu

`init_from` is the run dir to evaluate (a finished finetune run), `data.val_split` the eval file.
As CS224n's run.py: for each `question`, feed `question⁇` and decode greedily up to the next ⁇
(at most 32 characters, context cropped to block_size), with the run's final weights (last.pt).
A file without tabs (birth_test_inputs.tsv) is prompted with `question\n⁇`, as run.py does (it
keeps the line's newline); data.text_fidelity=clean drops it.
Writes into the EVALUATED run: eval/<stem>.predictions.tsv (question<TAB>prediction per line) and
eval/<stem>.json {"kind": "birthplace_accuracy", "variant", "eval_file", "correct", "total",
"accuracy" (percent), "skipped", "skipped_reasons", ...}, and prints `Correct: c out of t: p%`.
A question with characters outside the vocabulary is skipped: no prediction, counted wrong, and
listed. A file without places (birth_test_inputs.tsv) gets predictions only (correct/total null).
Done when that json exists for an eval file of the same content (its sha256 is stored; another
file with the same stem gets eval/<stem>-<sha8>.json). Its own run dir (runs/evaluate/...) keeps config, env and summary.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Callable

from gpt import rundir
from gpt.birthplace import greedy_answers
from gpt.config import RunConfig
from gpt.overrides import to_dict
from jobs.birthplace_data import FINETUNE_DATASET, PRETRAIN_DATASET, read_questions, resolve_file
from jobs.common import run_dir_of, write_env
from jobs.errors import UserError
from jobs.context import JobContext
from jobs.finetune import FINETUNE_DATA
from jobs.sample import load_run_model

JOB = "evaluate"
DECIDES_DONE_ITSELF = True   # done per eval file content, not per run dir (jobs.launch)
KIND = "birthplace_accuracy"
CHECKPOINT = "last"
MAX_REASONS = 20   # skipped_reasons lists this many; "skipped" counts them all


def _preset(name: str, eval_file: str) -> RunConfig:
    return RunConfig(name=name, data=dataclasses.replace(FINETUNE_DATA, val_split=eval_file))


PRESETS: dict[str, Callable[[], RunConfig]] = {
    "default": lambda: _preset("dev", "birth_dev.tsv"),
    "test": lambda: _preset("test", "birth_test_inputs.tsv"),
}


def result_path(run_dir: Path, eval_file: str, sha256: str = "") -> Path:
    """Where the accuracy json of `run_dir` on `eval_file` goes: <run_dir>/eval/<stem>.json, or
    <stem>-<sha8>.json when that name already holds the result of another file of that stem
    (results are keyed by the eval file's content, not its name)."""
    folder, stem = Path(run_dir) / rundir.EVAL, Path(eval_file).stem
    plain = folder / f"{stem}.json"
    if not sha256 or not plain.is_file() or _sha_of_result(plain) in (sha256, None):
        return plain
    return folder / f"{stem}-{sha256[:8]}.json"


def _sha_of_result(path: Path) -> str | None:
    try:
        return rundir.read_json(path).get("eval_sha256")
    except ValueError:
        return None


def _cached(path: Path, sha256: str) -> dict | None:
    """The stored result at `path` if it was computed on a file with this content."""
    try:
        result = rundir.read_json(path)
    except ValueError:   # not scored yet (or unreadable): score it
        return None
    return result if result.get("eval_sha256") == sha256 else None


def write_result(folder: Path, eval_file: str, questions: list[str], predictions: list[str],
                 places: list[str] | None, variant: str, skipped: list[str], stem: str = "",
                 **extra) -> dict:
    """Write <stem>.predictions.tsv and <stem>.json into `folder`, print and return the result."""
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


def write_record(run_dir: Path, cfg: RunConfig, result: dict, attempt: int) -> dict:
    """The job's own run dir: config.json, env.json and summary.json (= done)."""
    rundir.write_json(run_dir / rundir.CONFIG, to_dict(cfg))
    write_env(run_dir, cfg.device, attempt)
    summary = {"status": "completed", "name": cfg.name, **result}
    rundir.write_json(run_dir / rundir.SUMMARY, summary)
    return {**summary, "run_dir": str(run_dir)}


def _variant(run_cfg: RunConfig) -> str:
    if run_cfg.data.dataset == PRETRAIN_DATASET:
        return "pretrain_only"
    return "pretrain_finetune" if run_cfg.init_from else "no_pretrain"


def _score_run(target: Path, cfg: RunConfig, eval_path: Path, sha256: str, out: Path) -> dict:
    """Greedy answers of target's final weights on data.val_split, written to `out` in target/eval/."""
    start_s = time.perf_counter()
    model, tokenizer, run_cfg = load_run_model(target, CHECKPOINT, cfg.device)
    if run_cfg.data.dataset not in (PRETRAIN_DATASET, FINETUNE_DATASET):
        raise UserError(f"init_from={target} is a {run_cfg.data.dataset!r} run, not a birth-places "
                        f"run; evaluate a runs/finetune/... dir")
    questions, places = read_questions(eval_path)
    # CS224n prompts with `line.split("\t")[0] + "⁇"`: a line without a tab keeps its newline
    keep_newline = places is None and cfg.data.text_fidelity == "original"
    prompts = [q + "\n" for q in questions] if keep_newline else questions
    usable, skipped = [], []
    for n, question in enumerate(prompts, 1):
        try:
            tokenizer.encode(question)
            usable.append(n - 1)
        except ValueError as exc:
            skipped.append(f"question {n} {question[:60]!r}: {exc}")
    answers = greedy_answers(model, tokenizer, [prompts[i] for i in usable])
    predictions = [""] * len(questions)
    for i, answer in zip(usable, answers):
        predictions[i] = answer
    return write_result(target / rundir.EVAL, cfg.data.val_split, questions, predictions, places,
                        _variant(run_cfg), skipped, stem=out.stem, evaluated_run_dir=str(target),
                        checkpoint=CHECKPOINT, eval_path=str(eval_path), eval_sha256=sha256,
                        eval_s=round(time.perf_counter() - start_s, 2))


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Evaluate the run dir cfg.init_from on cfg.data.val_split (skipped when already done)."""
    if not cfg.init_from:
        raise UserError("evaluate needs init_from=RUN_DIR: the finished finetune run to evaluate")
    target = Path(cfg.init_from)
    if not rundir.is_complete(target):
        raise UserError(f"init_from={target} is not a finished run (no {rundir.SUMMARY}); wait for "
                        f"its job or rerun it")
    eval_path = resolve_file(ctx, cfg.data.val_split)
    sha256 = hashlib.sha256(eval_path.read_bytes()).hexdigest()
    path = result_path(target, cfg.data.val_split, sha256)
    result = _cached(path, sha256) or _score_run(target, cfg, eval_path, sha256, path)
    print_result(result, path.parent)
    return write_record(run_dir_of(JOB, cfg, ctx), cfg, result, ctx.attempt)
