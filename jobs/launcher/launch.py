"""Run jobs in this process, in local subprocesses, or on Slurm. No submitit here: the local executor
(jobs/launcher/launch_local.py, imported only for `--executor local`) is its only user, so an inline run works
on a node without it; Slurm submissions render their own sbatch script (jobs/launcher/slurm_submit.py).

    python main.py full_run --preset smoke                                  # inline, here
    python main.py full_run --preset smoke --executor local                 # subprocess, waits
    python main.py full_run --preset smoke --executor slurm --dry-run       # print the sbatch script
    python main.py full_run --preset smoke --executor slurm --cpus 1        # submit, print, return

A job run is idempotent (done -> summary; checkpoint -> resume), so preemption handling only has
to stop at a step boundary and run the same thing again:
- inline (also what a Slurm job runs, from a template or jobs/launcher/worker.py): USR2/SIGTERM/SIGINT set
  `ctx.stop`; the trainer saves `last.pt` and returns "interrupted". Inside a Slurm job only USR2
  (sent by `--signal` before a time limit or on preemption) then `scontrol requeue`s the job;
  SIGTERM (`scancel`) and SIGINT only save, so a cancelled job ends CANCELLED; a SIGTERM of
  `scontrol requeue` (Slurm's restart count already moved on) says the job comes back by itself.
- local (jobs/launcher/launch_local.py): submitit's USR2 handler calls `SubmittedRun.checkpoint`, which sets
  the stop event, waits for the job thread to save, and hands submitit the same run to requeue.
The job gets its run dir and attempt number (0-based) in its JobContext.
Logs and submission files go to `<run_dir>/slurm/` (one run) or the folder a sweep names;
`<run_dir>/slurm/jobs.jsonl` lists every submission and start of the run with its job id.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gpt import rundir
from jobs import job_module
from jobs.launcher.cluster import JOBS_LOG, pending_runs, resources_for
from jobs.context import JobContext
from jobs.errors import LaunchError
from jobs.launcher.request import LaunchRequest
from jobs.launcher.slurm_chain import is_chained, submit_chain
from jobs.launcher.slurm_jobs import requeued_by_slurm
from jobs.launcher.slurm_submit import submit_slurm
from jobs.launcher.tasks import Task

EXIT_INTERRUPTED = 3          # inline run stopped at a step boundary outside Slurm: rerun to resume


def _absolute(ctx: JobContext, stop: threading.Event | None = None) -> JobContext:
    """The same context with absolute paths: a worker may start in another folder."""
    data_root = Path(ctx.data_root).expanduser().resolve() if ctx.data_root else None
    return dataclasses.replace(ctx, runs_root=Path(ctx.runs_root).expanduser().resolve(), data_root=data_root,
                               cache_dir=Path(ctx.cache_dir).expanduser().resolve(), stop=stop)


def _attempt(known: int = 0) -> int:
    """0-based attempt: the larger of ours and Slurm's restart count (it goes in the JobContext)."""
    return max(known, int(os.environ.get("SLURM_RESTART_COUNT") or 0))


def _record(run_dir: Path, kind: str, **fields) -> None:
    """Append a submission/start row to <run_dir>/slurm/jobs.jsonl (read by `status`)."""
    rundir.append_jsonl(Path(run_dir) / JOBS_LOG,
                        {"kind": kind, "time": time.time(), **fields})


def _slurm_job_id() -> str:
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")


def _run_job(task: Task, ctx: JobContext, record: bool = True) -> dict:
    # imports torch: here, so `sweep --help` and `sweep --list` need none
    from gpt import distributed
    ctx = dataclasses.replace(ctx, run_dir=task.run_dir)   # the job does not locate it again
    if record and distributed.from_env().is_main:   # data parallel: one row per job, from rank 0
        _record(task.run_dir, "start", job_id=_slurm_job_id(), attempt=ctx.attempt,
                host=os.uname().nodename, pid=os.getpid(),   # a template exports its log's path
                **({"log": os.environ["TOOLKIT_LOG"]} if os.environ.get("TOOLKIT_LOG") else {}))
    return job_module(task.job).run(task.cfg, ctx)


def run_inline(task: Task, ctx: JobContext, requeue: bool = True) -> int:
    """Run in this process; a stop signal saves at a step boundary (and requeues inside Slurm,
    unless `requeue` is False: a packed point, whose array task requeues, jobs/launcher/pack_worker.py)."""
    module = job_module(task.job)
    # e.g. a template resubmitted: say so, train nothing (reading summary.json refuses a damaged
    # one in one line); a job that decides itself what is done (evaluate: per eval file) runs on.
    # summary.json comes after the work that follows training (plots, samples, a test score: the
    # trainer's finish hook), so a run that has one is done
    if not getattr(module, "DECIDES_DONE_ITSELF", False) and rundir.is_complete(task.run_dir):
        rundir.read_summary(task.run_dir / rundir.SUMMARY)
        print(f"[launch] already completed: {task.run_dir}", flush=True)
        return 0
    stop, received = threading.Event(), []
    if task.cfg.device == "cuda":      # refuse before the job writes its run dir
        from gpt.trainer import resolve_device
        resolve_device("cuda")
    if getattr(getattr(task.cfg, "train", None), "loggers", ""):   # the same for a missing tracker
        from gpt.trackers import check_installed
        check_installed(task.cfg.train.loggers)

    def on_signal(signum, _frame):
        print(f"[launch] {signal.Signals(signum).name}: stopping at the next step boundary", flush=True)
        received.append(signum)
        stop.set()
        if signum == signal.SIGINT:        # a second Ctrl-C kills at once
            signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGUSR2, signal.SIGTERM, signal.SIGINT)}
    try:
        # outside Slurm the row would hold no job id, and a run that fails on its data would
        # leave a run dir behind holding nothing else
        summary = _run_job(task, dataclasses.replace(_absolute(ctx, stop), attempt=_attempt()),
                           record="SLURM_JOB_ID" in os.environ)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if summary.get("status") != "interrupted":
        print(f"[launch] {summary.get('status', 'done')}: {task.run_dir}", flush=True)
        return 0
    job_id = os.environ.get("SLURM_JOB_ID")
    from gpt import distributed
    if job_id and not distributed.from_env().is_main:
        return 0                           # data parallel: rank 0 requeues the whole job
    if job_id and not requeue:
        print(f"[launch] interrupted: saved {task.run_dir}", flush=True)
        return EXIT_INTERRUPTED
    if not job_id:
        print(f"[launch] interrupted; run the same command again to resume {task.run_dir}", flush=True)
        return EXIT_INTERRUPTED
    if signal.SIGTERM in received and requeued_by_slurm(_slurm_job_id(), _attempt()):
        print(f"[launch] SIGTERM: saved; Slurm is requeueing job {_slurm_job_id()} (scontrol requeue), "
              f"the next attempt resumes from last.pt by itself", flush=True)
        return EXIT_INTERRUPTED
    if signal.SIGUSR2 not in received:   # scancel (SIGTERM) or Ctrl-C: the user meant to stop
        print(f"[launch] {signal.Signals(received[0]).name if received else 'stopped'}: saved, not "
              f"requeued (only USR2, a time limit or preemption, requeues); resubmit to resume "
              f"{task.run_dir}", flush=True)
        return EXIT_INTERRUPTED
    print(f"[launch] interrupted; requeueing Slurm job {job_id}", flush=True)
    _record(task.run_dir, "requeue", job_id=_slurm_job_id())
    if subprocess.run(["scontrol", "requeue", job_id]).returncode != 0:
        print(f"[launch] requeue refused; resubmit to resume {task.run_dir}", flush=True)
        return EXIT_INTERRUPTED
    return 0


def run_inline_all(tasks: list[Task], ctx: JobContext) -> int:
    """One after another in this process; an interrupted run stops the rest."""
    for task in tasks:
        code = run_inline(task, ctx)
        if code:
            return code
    return 0


def _local_executor():
    """jobs.launcher.launch_local.run_local, imported only here: an inline run (a GPU node's) needs no submitit."""
    try:
        from jobs.launcher.launch_local import run_local
    except ModuleNotFoundError as exc:
        if exc.name != "submitit":
            raise
        raise LaunchError("--executor local needs submitit, which is not installed here (pip install "
                          "submitit); --executor inline runs without it") from None
    return run_local


@dataclass(frozen=True)
class Outcome:
    """What dispatch did: the process exit code, and the Slurm job ids it submitted (if any)."""
    exit_code: int
    job_ids: tuple[str, ...] = ()


def dispatch(tasks: list[Task], ctx: JobContext, request: LaunchRequest, *, name: str | None = None,
             folder: Path | None = None) -> Outcome:
    """Run or submit `tasks` as `request` says: the one place main.py, sweeps and reproduce go.

    Slurm: runs that completed or are still queued are skipped; the rest go in ONE sbatch (an
    array when several), named `name` (default <job>.<config name>), logging to `folder`
    (default: the run's slurm/ folder, or <runs_root>/<job>/slurm/ for several); a chained job
    (one whose module has `stage_configs`, e.g. pretrain_finetune) is submitted as one job per
    stage instead (jobs/launcher/slurm_chain.py)."""
    if request.print_run_dir:
        print("\n".join(str(t.run_dir) for t in tasks))
        return Outcome(0)
    if request.task_index is not None:      # one run of a list, here (a template's array task)
        [task] = request.selected(tasks, name or tasks[0].job)
        return Outcome(run_inline(task, ctx))
    if request.executor == "inline":
        return Outcome(run_inline_all(tasks, ctx))
    if request.executor == "local":
        return Outcome(_local_executor()(tasks, ctx, request))
    todo = tasks if request.dry_run else pending_runs(tasks)
    if not todo:
        print("[launch] nothing to submit: every run completed or is still queued")
        return Outcome(0)
    chained = [t for t in todo if is_chained(t.job)]
    ids = [job_id for t in chained for job_id in submit_chain(t, ctx, request)]
    rest = [t for t in todo if t not in chained]
    if rest:
        folder = folder or (rest[0].run_dir / rundir.SLURM if len(rest) == 1 else
                            Path(ctx.runs_root).resolve() / rest[0].job / rundir.SLURM)
        ids += submit_slurm(rest, ctx, request, resources_for(rest, request.resources, request.profile),
                            name=name or f"{rest[0].job}.{rest[0].cfg.name}", folder=folder)
    return Outcome(0, tuple(ids))
