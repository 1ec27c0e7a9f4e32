"""pretrain_finetune: the whole CS224n birth-place experiment in order, each stage skipping itself when done.

    python main.py pretrain_finetune --preset smoke          # toy chain end to end, minutes on a CPU
    python main.py pretrain_finetune device=cuda             # CS224n settings (hours on a CPU)
    python main.py pretrain_finetune train.epochs=20         # shortened pretraining, the rest as CS224n

Stages: pretrain (this config) -> finetune from it -> evaluate on birth_dev.tsv (and predictions
on birth_test_inputs.tsv) -> finetune from scratch -> evaluate it -> London baseline. Each stage is
the same job as its own subcommand, with the same config and so the same run dir: a chain cut
anywhere resumes where it stopped, and `--executor slurm` (one job per stage with afterok,
jobs/launcher/slurm_chain.py, from stage_configs) shares its runs with this one.

The config is the pretrain stage's; model, seed and device reach every stage. The finetune
stages use finetune's presets `smoke`/`smoke_pretrained` when name=smoke, else
`default`/`pretrained` (75 epochs from scratch, 10 after pretraining).
Writes runs/pretrain_finetune/<name>-<hash8>/summary.json: each stage's run dir and accuracy.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from gpt import rundir
from gpt.config import RunConfig
from gpt.overrides import locate_run_dir, to_dict
from jobs import job_module
from jobs.common import run_dir_of, write_env
from jobs.context import JobContext
from jobs.eval_results import KIND

JOB = "pretrain_finetune"
FINETUNE_PRESETS = {"smoke": ("smoke", "smoke_pretrained")}   # name -> (from scratch, pretrained)
DEFAULT_FINETUNE = ("default", "pretrained")


def _preset(job: str, name: str):
    """Preset `name` of job `job`, reached by registry name (jobs never import each other)."""
    return job_module(job).PRESETS[name]()


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": lambda: _preset("pretrain", "default"),
                                               "smoke": lambda: _preset("pretrain", "smoke")}


def stage_configs(cfg: RunConfig, ctx: JobContext) -> list[tuple[str, object]]:
    """(job, config) of every stage, in order; later stages name earlier run dirs (finetune's
    init_from, evaluate's run_dir)."""
    shared = {"seed": cfg.seed, "device": cfg.device, "model": cfg.model}
    scratch, pretrained = FINETUNE_PRESETS.get(cfg.name, DEFAULT_FINETUNE)
    tuned = dataclasses.replace(_preset("finetune", pretrained), **shared,
                                init_from=str(locate_run_dir(ctx.runs_root, "pretrain", cfg)))
    from_scratch = dataclasses.replace(_preset("finetune", scratch), **shared)

    def evaluation(preset: str, target: RunConfig):
        return dataclasses.replace(_preset("evaluate", preset), device=cfg.device,
                                   run_dir=str(locate_run_dir(ctx.runs_root, "finetune", target)))
    return [("pretrain", cfg), ("finetune", tuned), ("evaluate", evaluation("default", tuned)),
            ("evaluate", evaluation("test", tuned)), ("finetune", from_scratch),
            ("evaluate", evaluation("default", from_scratch)),
            ("london_baseline", _preset("london_baseline", "default"))]


def _table(stages: list[dict]) -> str:
    rows = [s for s in stages if s.get("kind") == KIND and s.get("total") is not None]
    lines = [f"{'variant':<18} {'eval file':<16} {'correct':>8} {'total':>6} {'accuracy':>9}"]
    lines += [f"{r['variant']:<18} {r['eval_file']:<16} {r['correct']:>8} {r['total']:>6} "
              f"{r['accuracy']:>8.1f}%" for r in rows]
    return "\n".join(lines)


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Run the stages in order; an interrupted stage returns its summary (rerun to resume)."""
    run_dir = run_dir_of(JOB, cfg, ctx)
    if rundir.is_complete(run_dir):
        summary = rundir.read_summary(run_dir / rundir.SUMMARY)
        print(_table(summary["stages"]), flush=True)
        return {**summary, "run_dir": str(run_dir)}
    stages = []
    for job, stage_cfg in stage_configs(cfg, ctx):
        print(f"[{JOB}] stage {len(stages) + 1}: {job} {stage_cfg.name}", flush=True)
        stage_ctx = dataclasses.replace(ctx, run_dir=locate_run_dir(ctx.runs_root, job, stage_cfg))
        summary = job_module(job).run(stage_cfg, stage_ctx)
        if summary.get("status") != "completed":
            return summary
        keep = ("run_dir", "status", "steps", "wall_s", "best_val_loss", "final_val_loss", "kind",
                "variant", "eval_file", "correct", "total", "accuracy", "skipped")
        stages.append({"job": job, "name": stage_cfg.name, **{k: summary[k] for k in keep if k in summary}})
    rundir.write_json(run_dir / rundir.CONFIG, to_dict(cfg))
    write_env(run_dir, cfg.device, ctx.attempt)
    summary = {"status": "completed", "name": cfg.name, "stages": stages}
    rundir.write_json(run_dir / rundir.SUMMARY, summary)
    print(_table(stages), flush=True)
    return {**summary, "run_dir": str(run_dir)}
