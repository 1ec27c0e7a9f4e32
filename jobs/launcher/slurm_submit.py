"""`--executor slurm`: render one sbatch script (jobs/launcher/sbatch.py), write it and its task list into
the submission folder, run `sbatch` on it; `--dry-run` prints that same script and writes nothing.

    ids = submit_slurm(tasks, ctx, request, res, name="full_run.smoke", folder=run_dir / "slurm")

The job runs `python -m jobs.launcher.worker <folder>/tasks-<hash>.json` under srun: task
$SLURM_ARRAY_TASK_ID of the list, inline, so USR2 (`--signal`, time limit or preemption) saves
and requeues, and `scancel`'s SIGTERM saves and lets the job end CANCELLED. The task list is
`{"runs_root", "cache_dir", "data_root", "tasks": [{"job", "run_dir", "cfg"}]}` (task_spec).
Logs: `<folder>/<job id>_log.out` (one run) or `<folder>/<A>_<i>_log.out` (array task i).
The pieces (check_folders, partition_for, build_script, sbatch_file, record_submitted) are
shared with jobs/launcher/slurm_chain.py, which submits one job per stage of a chained job.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

from gpt import rundir
from gpt.overrides import to_dict
from jobs.launcher.cluster import (JOBS_LOG, announce, check_cluster, check_shared, require_sbatch,
                          slurm_command)
from jobs.context import JobContext
from jobs.errors import LaunchError
from jobs.launcher.pack import points_per_task
from jobs.launcher.request import LaunchRequest
from jobs.launcher.sbatch import Resources, SbatchSpec, render, script_name
from jobs.launcher.slurm_jobs import ACTIVE_STATES, job_states

REPO = Path(__file__).resolve().parents[2]
POLL_S = 2.0   # --wait: how often squeue/sacct are asked


def task_spec(tasks: list, ctx: JobContext) -> dict:
    """JSON-able description of `tasks` (jobs.launcher.tasks.Task) and the absolute context paths."""
    return {"runs_root": str(ctx.runs_root), "cache_dir": str(ctx.cache_dir),
            "data_root": str(ctx.data_root) if ctx.data_root else None,
            "tasks": [{"job": t.job, "run_dir": str(t.run_dir), "cfg": to_dict(t.cfg)} for t in tasks]}


def _spec_file(folder: Path, spec: dict) -> tuple[Path, bytes]:
    """Where the task list goes (named by its content, so the script is deterministic) and its bytes."""
    data = (json.dumps(spec, indent=2, sort_keys=True) + "\n").encode()
    return folder / f"tasks-{hashlib.sha256(data).hexdigest()[:12]}.json", data


def build_script(tasks: list, ctx: JobContext, res: Resources, partition: str, name: str,
                 folder: Path, parallel: int | None, pack: int = 1,
                 pack_mode: str = "auto") -> tuple[str, Path, bytes]:
    """(script text, task-list path, task-list bytes) of one submission; nothing is written.
    pack > 1: each array task runs `pack` of the tasks (jobs/launcher/pack.py)."""
    spec = task_spec(tasks, ctx) | ({"pack": pack, "pack_mode": pack_mode} if pack > 1 else {})
    spec_path, spec_bytes = _spec_file(folder, spec)
    # after the resources' setup lines: the worker imports jobs.launcher.worker from this checkout
    setup = (f"export PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}",)
    text = render(SbatchSpec(job_name=name, folder=folder, n_tasks=-(-len(tasks) // pack), parallel=parallel,
                             setup=setup,
                             command=(sys.executable, "-u", "-m", "jobs.launcher.pack_worker" if pack > 1 else
                                      "jobs.launcher.worker", str(spec_path))),
                  dataclasses.replace(res, partition=partition))
    return text, spec_path, spec_bytes


def check_folders(ctx: JobContext, request: LaunchRequest) -> None:
    """Refuse a runs root, data cache or data root the compute nodes cannot see."""
    data_root = ctx.data_root or os.environ.get("DATA_ROOT")
    check_shared({"runs root (--runs-root)": ctx.runs_root, "data cache (--cache-dir, $DATA_CACHE)":
                  ctx.cache_dir, "data root (--data-root, $DATA_ROOT)": data_root and Path(data_root)},
                 request.allow_local_runs_root)


def partition_for(res: Resources, request: LaunchRequest, tasks: list) -> str:
    """The partition the job goes to, after asking Slurm whether a node can hold it (a dry run
    without sbatch skips that); prints the one resources line."""
    partition = check_cluster(res) if not request.dry_run or _has_sbatch() else res.partition
    announce(res, partition, tasks, sys.stderr if request.dry_run else sys.stdout)  # dry-run stdout: the script alone
    return partition


def sbatch_file(text: str, spec_path: Path, spec_bytes: bytes, folder: Path,
                options: tuple[str, ...] = ()) -> tuple[str, Path]:
    """Write the task list and the script into `folder`, `sbatch [options] script`: (job id, script)."""
    script = Path(folder) / script_name(text)
    rundir.write_atomic(spec_path, spec_bytes)
    rundir.write_atomic(script, text.encode())
    return slurm_command("sbatch", "--parsable", *options, str(script)).strip().split(";")[0], script


def record_submitted(tasks: list, ids: list[str], folder: Path, script: Path) -> None:
    """A `submitted` row in each run's slurm/jobs.jsonl (read by `status`), and a line each."""
    for t, job_id in zip(tasks, ids):
        log = Path(folder) / f"{job_id}_log.out"
        rundir.append_jsonl(Path(t.run_dir) / JOBS_LOG, {"kind": "submitted", "time": time.time(),
                            "job_id": job_id, "log": str(log), "executor": "slurm", "script": str(script)})
        print(f"submitted job {job_id}  {t.run_dir}", flush=True)


def submit_slurm(tasks: list, ctx: JobContext, request: LaunchRequest, res: Resources, *, name: str,
                 folder: Path) -> list[str]:
    """Check everything, then submit all tasks with ONE sbatch (an array when several)."""
    check_folders(ctx, request)
    k = points_per_task(request.pack, request.pack_mode, len(tasks), res.gpus)   # may refuse: before the resources line
    partition = partition_for(res, request, tasks)
    text, spec_path, spec_bytes = build_script(tasks, ctx, res, partition, name, Path(folder),
                                               request.parallel, k, request.pack_mode)
    if request.dry_run:
        print(text, end="")
        return []
    job, script = sbatch_file(text, spec_path, spec_bytes, folder)
    # one id per run: packed runs share their array task's id; one task is no array
    ids = [job] * len(tasks) if len(tasks) <= k else [f"{job}_{i // k}" for i in range(len(tasks))]
    record_submitted(tasks, ids, folder, script)
    if request.wait:
        wait_for_jobs(ids, tasks)
    return ids


@functools.cache                 # a chain asks once per stage: one note is enough
def _has_sbatch() -> bool:
    try:
        require_sbatch()
        return True
    except LaunchError as exc:
        print(f"[launch] note: {exc}; partition and node limits not checked", file=sys.stderr)
        return False


def wait_for_jobs(ids: list[str], tasks: list) -> None:
    """Block until no job is queued or running; LaunchError naming the first that did not complete."""
    t0 = time.time()
    while True:
        states = job_states(ids)
        # a new job may not be in squeue/sacct yet; later, one in neither has ended
        unseen = "PENDING" if time.time() - t0 < 30 else "ENDED"
        if not any(states.get(j, unseen) in ACTIVE_STATES for j in ids):
            break
        time.sleep(POLL_S)
    for job_id, t in zip(ids, tasks):
        summary = Path(t.run_dir) / rundir.SUMMARY
        status = rundir.read_json(summary).get("status") if summary.is_file() else "no summary"
        print(f"job {job_id}: {states.get(job_id, '?')}, {status}")
    failed = [j for j in ids if states.get(j) != "COMPLETED"]
    if failed:
        raise LaunchError(f"job {failed[0]} ended {states.get(failed[0], 'in an unknown state')}; "
                          f"read its log under {Path(tasks[ids.index(failed[0])].run_dir) / rundir.SLURM}")
