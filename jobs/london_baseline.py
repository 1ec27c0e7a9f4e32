"""london_baseline: the accuracy of answering "London" to every question (CS224n london_baseline.py).

    python main.py london_baseline                                   # birth_dev.tsv: 5.0%
    python main.py london_baseline data.val_split=/path/to/other.tsv

Writes runs/london_baseline/<name>-<hash8>/eval/<stem>.json (variant "london", same fields as
`evaluate`) and eval/<stem>.predictions.tsv, plus config.json, env.json and summary.json.
"""
from __future__ import annotations

from typing import Callable

from gpt import rundir
from gpt.config import RunConfig
from jobs.birthplace_data import read_questions, resolve_file
from jobs.common import run_dir_of
from jobs.context import JobContext
from jobs.cs224n import FINETUNE_DATA
from jobs.errors import UserError
from jobs.eval_results import print_result, result_path, write_record, write_result

JOB = "london_baseline"
ANSWER = "London"

# data.val_split (FINETUNE_DATA's: birth_dev.tsv) is the file scored
PRESETS: dict[str, Callable[[], RunConfig]] = {"default": lambda: RunConfig(name="dev", data=FINETUNE_DATA)}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Score "London" for every question of cfg.data.val_split; returns the result."""
    run_dir = run_dir_of(JOB, cfg, ctx)
    path = resolve_file(ctx, cfg.data.val_split)
    questions, places = read_questions(path)
    if places is None:
        raise UserError(f"{path} has no gold places (no tabs): the baseline needs them to score")
    result = write_result(run_dir / rundir.EVAL, cfg.data.val_split, questions,
                          [ANSWER] * len(questions), places, "london", [])
    print_result(result, result_path(run_dir, cfg.data.val_split).parent)
    return write_record(run_dir, cfg, result, ctx.attempt)
