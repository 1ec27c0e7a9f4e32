"""attention_ablation: full_run, then val loss at several context lengths (eval/lengths.json).

    python main.py attention_ablation model.pos_embedding=sinusoidal train.max_iters=30   # one variant
    python main.py sweep attention_ablations train.max_iters=30       # every variant (jobs/ablations.py)

The run of one variant of the attention ablation: trains like full_run (curves, samples,
summary.json), then scores the best weights at T/2, T, 2T and 4T tokens of context (learned
positions only up to T, said in the file's note) for the report's length-generalisation figure.
The default preset is smoke-sized: gpt-nano, block 32, char tiny shakespeare, a few s per 30 steps.
"""
from __future__ import annotations

from typing import Callable

from gpt import rundir
from gpt.config import OptimConfig, RunConfig, SampleConfig, TrainConfig, model_preset
from jobs.common import run_dir_of
from jobs.context import JobContext
from jobs.eval_lengths import FILE, evaluate_lengths
from jobs.stage import train_and_sample

JOB = "attention_ablation"
LENGTH_TOKENS = 8192   # val tokens per length: enough for a smooth curve, seconds on a CPU


def smoke() -> RunConfig:
    """gpt-nano, block 32, batch 16, eval every 10 steps: every variant in seconds on a CPU."""
    return RunConfig(name="abl", model=model_preset("gpt-nano", block_size=32, dropout=0.0),
                     optim=OptimConfig(lr=3e-3),
                     train=TrainConfig(max_iters=200, batch_size=16, eval_interval=10, eval_iters=4,
                                       log_interval=10),
                     sample=SampleConfig(prompts=("\n",), temperatures=(0.8,), max_new_tokens=80))


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": smoke, "smoke": smoke}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """full_run's training and samples under this job's run dir, then eval/lengths.json."""
    summary = train_and_sample(JOB, cfg, ctx)
    if summary.get("status") != "completed":
        return summary
    run_dir = run_dir_of(JOB, cfg, ctx)
    if not (run_dir / rundir.EVAL / FILE).exists():
        evaluate_lengths(run_dir, max_tokens=LENGTH_TOKENS, data_root=ctx.data_root, cache_dir=ctx.cache_dir, device=cfg.device)
    return summary
