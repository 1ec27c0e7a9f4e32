"""A chained job on Slurm: one job per stage, each starting once the one before it succeeded.

    python main.py pretrain_finetune --preset smoke --executor slurm --cpus 1 --mem-gb 2
    python main.py pretrain_finetune --executor slurm --dry-run      # every stage's script

A job is chained when its module has `stage_configs(cfg, ctx) -> [(job, cfg), ...]` (e.g.
pretrain_finetune). Each stage is the same run as its own subcommand (same config, same run
dir), submitted through jobs/launcher/slurm_submit.py with its own resources (a GPU only for the stages
that use CUDA); a last job runs the chained job itself, which finds every stage done and writes
its summary table. The first job is submitted held, every later one with
`--dependency=afterok:<previous>`, and the first is released only once all are in: if an
sbatch fails, the jobs already submitted are cancelled and nothing runs. If a stage fails, Slurm
cancels the rest (DependencyParameters=kill_invalid_depend; elsewhere they stay PENDING with
reason DependencyNeverSatisfied: scancel them). Submitting again skips completed stages.
"""
from __future__ import annotations

import subprocess
import sys

from gpt import rundir
from jobs import job_module
from jobs.launcher.cluster import pending_runs, resources_for, slurm_command
from jobs.context import JobContext
from jobs.errors import LaunchError
from jobs.launcher.request import LaunchRequest
from jobs.launcher.slurm_submit import (build_script, check_folders, partition_for, record_submitted,
                               sbatch_file, wait_for_jobs)
from jobs.launcher.tasks import Task, make_tasks


def is_chained(job: str) -> bool:
    """True when `job` runs as stages (its module has stage_configs)."""
    return hasattr(job_module(job), "stage_configs")


def chain_tasks(task: Task, ctx: JobContext) -> list[Task]:
    """Every stage of `task` as a task of its own, in order, then `task` itself (the summary)."""
    stages = job_module(task.job).stage_configs(task.cfg, ctx)
    return [*(make_tasks(job, [cfg], ctx.runs_root)[0] for job, cfg in stages), task]


def submit_chain(task: Task, ctx: JobContext, request: LaunchRequest) -> list[str]:
    """Submit the stages of `task` not yet done as a held, afterok-chained list of jobs; their ids."""
    check_folders(ctx, request)
    stages = chain_tasks(task, ctx)
    todo = stages if request.dry_run else pending_runs(stages)
    busy = [t for t in stages if t not in todo and not rundir.is_complete(t.run_dir)]
    if busy:
        raise LaunchError(f"{len(busy)} stage(s) of {task.job} {task.cfg.name} are still queued or running "
                          "(listed above): wait for them or scancel them, then submit again")
    scripts = []
    for t in todo:
        res = resources_for([t], request.resources, request.profile)
        folder = t.run_dir / rundir.SLURM
        name = f"{task.job}.{stages.index(t) + 1}.{t.job}"
        scripts.append((t, folder, *build_script([t], ctx, res, partition_for(res, request, [t]),
                                                 name, folder, None)))
    if request.dry_run:
        for i, (t, _, text, _, _) in enumerate(scripts):
            how = "--hold (released once all are in)" if i == 0 else "--dependency=afterok:<the job above>"
            print(f"# ---- job {i + 1}/{len(scripts)}: {t.job} {t.cfg.name}, sbatch {how}\n{text}", end="")
        return []
    ids = []
    try:
        for t, folder, text, spec_path, spec_bytes in scripts:
            options = (f"--dependency=afterok:{ids[-1]}",) if ids else ("--hold",)
            job_id, script = sbatch_file(text, spec_path, spec_bytes, folder, options)
            ids.append(job_id)
            record_submitted([t], [job_id], folder, script)
        if ids:
            slurm_command("scontrol", "release", ids[0])
    except BaseException:     # a refused sbatch, an unwritable folder, Ctrl-C: nothing may run
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)
        print(f"[launch] chain not submitted: cancelled the job(s) already in "
              f"({' '.join(ids) or 'none'})", file=sys.stderr, flush=True)
        raise
    print(f"{task.job} {task.cfg.name}: " + " -> ".join(f"{t.job} {j}" for (t, *_), j in zip(scripts, ids)), flush=True)
    if request.wait:
        wait_for_jobs(ids, [t for t, *_ in scripts])
    return ids
