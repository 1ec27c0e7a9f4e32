"""attention_ablation: full_run, then a leak-free val loss and val loss at several context lengths.

    python main.py attention_ablation model.pos_embedding=sinusoidal train.max_iters=30   # one variant
    python main.py sweep attention_ablations train.max_iters=30       # every variant (jobs/ablations.py)

The run of one variant of the attention ablation: trains like full_run (curves, samples), then,
before summary.json, scores the best weights (1) prefix by prefix, so no position sees a later
token, with a probe of whether the trained model can see the future (eval/causal.json: the
report's main column; jobs/causal_eval.py), and (2) at T/2, T, 2T and 4T tokens of context
(eval/lengths.json; learned positions only up to T, said in the file's note) for the report's
length-generalisation figure.
The default preset is smoke-sized: gpt-nano, block 32, char tiny shakespeare, a few s per 30 steps.
"""
from __future__ import annotations

from typing import Callable

from pathlib import Path

from gpt import rundir
from gpt.config import OptimConfig, RunConfig, SampleConfig, TrainConfig, model_preset
from jobs import causal_eval, length_eval
from jobs.context import JobContext
from jobs.stage import train_and_sample

JOB = "attention_ablation"
LENGTH_TOKENS = 8192   # val tokens per length: enough for a smooth curve, seconds on a CPU
CAUSAL_TOKENS = 4096   # val tokens scored prefix by prefix: 128 windows of 32, ~16 full evals' cost


def smoke() -> RunConfig:
    """gpt-nano, block 32, batch 16, eval every 10 steps: every variant in seconds on a CPU."""
    return RunConfig(name="abl", model=model_preset("gpt-nano", block_size=32, dropout=0.0),
                     optim=OptimConfig(lr=3e-3),
                     train=TrainConfig(max_iters=200, batch_size=16, eval_interval=10, eval_iters=4,
                                       log_interval=10),
                     sample=SampleConfig(prompts=("\n",), temperatures=(0.8,), max_new_tokens=80))


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": smoke, "smoke": smoke}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """full_run's training and samples under this job's run dir; eval/causal.json and
    eval/lengths.json before summary.json (a rerun after a failed evaluation redoes it)."""
    def evaluations(run_dir: Path) -> None:
        where = dict(data_root=ctx.data_root, cache_dir=ctx.cache_dir, device=cfg.device)
        causal_eval.evaluate_causal(run_dir, max_tokens=CAUSAL_TOKENS, **where)
        if not (run_dir / rundir.EVAL / length_eval.FILE).exists():
            length_eval.evaluate_lengths(run_dir, max_tokens=LENGTH_TOKENS, **where)
    return train_and_sample(JOB, cfg, ctx, after=evaluations)
