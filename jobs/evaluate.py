"""evaluate: greedy birth-place answers of a trained run on an eval TSV -> predictions and accuracy.

    python main.py evaluate run_dir=runs/finetune/smoke-scratch-XXXXXXXX device=cpu         # birth_dev.tsv
    python main.py evaluate --preset test run_dir=runs/finetune/pretrained-XXXXXXXX     # no gold
    python main.py evaluate run_dir=DIR eval_file=/path/to/my_questions.tsv checkpoint=best

Its own config (not a training config): run_dir (the finished finetune run to score), eval_file
(a birth_places file name or a path), checkpoint (last | best), max_answer_chars, text_fidelity,
device and name (of this job's own run dir). `init_from=` and `data.val_split=` are the old
spellings of run_dir= and eval_file=: they fail and say so.
As CS224n's run.py: for each `question`, feed `question⁇` and decode greedily up to the next ⁇
(at most max_answer_chars = 32 characters, context cropped to block_size), with the run's final
weights (last.pt). A file without tabs (birth_test_inputs.tsv) is prompted with `question\\n⁇`,
as run.py does (it keeps the line's newline); text_fidelity=clean drops it.
Writes into the EVALUATED run: eval/<stem>.predictions.tsv (question<TAB>prediction per line) and
eval/<stem>.json {"kind": "birthplace_accuracy", "variant", "eval_file", "correct", "total",
"accuracy" (percent), "skipped", "skipped_reasons", ...}, and prints `Correct: c out of t: p%`.
A question with characters outside the vocabulary is skipped: no prediction, counted wrong, and
listed. A file without places (birth_test_inputs.tsv) gets predictions only (correct/total null).
Done when that json exists for the same eval file content and settings (sha256, checkpoint,
max_answer_chars, text_fidelity are stored; other ones get eval/<stem>-<hash8>.json). Its own
run dir (runs/evaluate/...) keeps config, env and summary.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

from gpt import rundir
from gpt.birthplace import MAX_ANSWER_CHARS, greedy_answers
from gpt.config import MAX_NAME_CHARS, NAME_PATTERN, ConfigError, RunConfig
from jobs.birthplace_data import FINETUNE_DATASET, PRETRAIN_DATASET, read_questions, resolve_file
from jobs.common import run_dir_of
from jobs.context import JobContext
from jobs.errors import UserError
from jobs.eval_results import cached, print_result, result_path, write_record, write_result
from jobs.run_model import load_run_model

JOB = "evaluate"
DECIDES_DONE_ITSELF = True   # done per eval file content and settings, not per run dir (jobs.launcher.launch)
CHECKPOINTS = ("last", "best")
FIDELITIES = ("original", "clean")


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """What evaluate scores and how: the run, the eval file, the weights and the decoding."""

    # old spellings (when evaluate took a training config) -> the key that replaced them
    RENAMED: ClassVar[dict[str, str]] = {"init_from": "run_dir", "data.val_split": "eval_file",
                                         "data.text_fidelity": "text_fidelity"}
    name: str = "dev"                   # of this job's own run dir, runs/evaluate/<name>-<hash8>
    device: str = "auto"                # auto (cuda if available) | cpu | cuda
    run_dir: str = ""                   # the finished run to score (a runs/finetune/... dir)
    eval_file: str = "birth_dev.tsv"    # a birth_places file name, or a path to a TSV of your own
    checkpoint: str = "last"            # last: CS224n scores the final weights | best
    max_answer_chars: int = MAX_ANSWER_CHARS   # greedy decoding stops at ⁇ or after this many
    text_fidelity: str = "original"     # original: a question-only line keeps its newline (run.py)

    def __post_init__(self) -> None:
        for key, value, choices in (("device", self.device, ("auto", "cpu", "cuda")),
                                    ("checkpoint", self.checkpoint, CHECKPOINTS),
                                    ("text_fidelity", self.text_fidelity, FIDELITIES)):
            if value not in choices:
                raise ConfigError(f"{key}={value!r} is not valid; choose one of: {', '.join(choices)}")
        if not NAME_PATTERN.fullmatch(self.name):
            raise ConfigError(f"name={self.name[:40]!r} is not valid: use 1-{MAX_NAME_CHARS} of "
                              f"A-Z a-z 0-9 . _ - (not starting with . or -)")
        if self.max_answer_chars < 1:
            raise ConfigError(f"max_answer_chars={self.max_answer_chars} must be >= 1")
        if not self.eval_file.strip():
            raise ConfigError("eval_file= is empty; name a birth_places file (birth_dev.tsv) or a TSV path")


CONFIG = EvalConfig   # the config class this job runs on (jobs.config_type; RunConfig elsewhere)
PRESETS: dict[str, Callable[[], EvalConfig]] = {
    "default": lambda: EvalConfig(name="dev", eval_file="birth_dev.tsv"),
    "test": lambda: EvalConfig(name="test", eval_file="birth_test_inputs.tsv"),
}


def _variant(run_cfg: RunConfig) -> str:
    if run_cfg.data.dataset == PRETRAIN_DATASET:
        return "pretrain_only"
    return "pretrain_finetune" if run_cfg.init_from else "no_pretrain"


def _key(cfg: EvalConfig, sha256: str) -> dict:
    """What a stored result must have been computed with to be reused (eval_results.cached)."""
    return {"eval_sha256": sha256, "checkpoint": cfg.checkpoint,
            "max_answer_chars": cfg.max_answer_chars, "text_fidelity": cfg.text_fidelity}


def _score_run(target: Path, cfg: EvalConfig, eval_path: Path, key: dict, out: Path) -> dict:
    """Greedy answers of target's weights on cfg.eval_file, written to `out` in target/eval/."""
    start_s = time.perf_counter()
    model, tokenizer, run_cfg = load_run_model(target, cfg.checkpoint, cfg.device)
    if run_cfg.data.dataset not in (PRETRAIN_DATASET, FINETUNE_DATASET):
        raise UserError(f"run_dir={target} is a {run_cfg.data.dataset!r} run, not a birth-places "
                        f"run; evaluate a runs/finetune/... dir")
    questions, places = read_questions(eval_path)
    # CS224n prompts with `line.split("\t")[0] + "⁇"`: a line without a tab keeps its newline
    keep_newline = places is None and cfg.text_fidelity == "original"
    prompts = [q + "\n" for q in questions] if keep_newline else questions
    usable, skipped = [], []
    for n, question in enumerate(prompts, 1):
        try:
            tokenizer.encode(question)
            usable.append(n - 1)
        except ValueError as exc:
            skipped.append(f"question {n} {question[:60]!r}: {exc}")
    answers = greedy_answers(model, tokenizer, [prompts[i] for i in usable], cfg.max_answer_chars)
    predictions = [""] * len(questions)
    for i, answer in zip(usable, answers):
        predictions[i] = answer
    return write_result(target / rundir.EVAL, cfg.eval_file, questions, predictions, places,
                        _variant(run_cfg), skipped, stem=out.stem, evaluated_run_dir=str(target),
                        eval_path=str(eval_path), eval_s=round(time.perf_counter() - start_s, 2), **key)


def run(cfg: EvalConfig, ctx: JobContext) -> dict:
    """Evaluate the run dir cfg.run_dir on cfg.eval_file (skipped when already done)."""
    if not cfg.run_dir:
        raise UserError("evaluate needs run_dir=RUN_DIR: the finished finetune run to evaluate")
    target = Path(cfg.run_dir).expanduser()
    if not rundir.is_complete(target):
        raise UserError(f"run_dir={target} is not a finished run (no {rundir.SUMMARY}); wait for "
                        f"its job or rerun it")
    eval_path = resolve_file(ctx, cfg.eval_file)
    key = _key(cfg, hashlib.sha256(eval_path.read_bytes()).hexdigest())
    path = result_path(target, cfg.eval_file, key)
    result = cached(path, key) or _score_run(target, cfg, eval_path, key, path)
    print_result(result, path.parent)
    return write_record(run_dir_of(JOB, cfg, ctx), cfg, result, ctx.attempt)
