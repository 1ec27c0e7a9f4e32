"""Run jobs in this process, in local subprocesses, or on Slurm. The only importer of submitit.

    python main.py full_run --preset smoke                                  # inline, here
    python main.py full_run --preset smoke --executor local                 # subprocess, waits
    python main.py full_run --preset smoke --executor slurm --dry-run       # print the sbatch script
    python main.py full_run --preset smoke --executor slurm --cpus 1        # submit, print, return

A job run is idempotent (done -> summary; checkpoint -> resume), so preemption handling only has
to stop at a step boundary and run the same thing again:
- inline: USR2/SIGTERM/SIGINT set `ctx.stop`; the trainer saves `last.pt` and returns
  "interrupted"; inside a Slurm job (an sbatch template) we then `scontrol requeue` ourselves.
- local/slurm: submitit's USR2 handler calls `SubmittedRun.checkpoint`, which sets the stop event,
  waits for the job thread to save, and hands submitit the same run to requeue.
The attempt number (0-based) reaches the trainer as $TOOLKIT_ATTEMPT.
Logs and submission files go to `<run_dir>/slurm/` (one run) or the folder a sweep names;
`<run_dir>/slurm/jobs.jsonl` lists every submission and start of the run with its job id.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import submitit
from submitit.slurm.slurm import _make_sbatch_string

from gpt import rundir
from gpt.config import RunConfig
from gpt.overrides import config_hash, from_dict, to_dict
from jobs import JOBS
from jobs.cluster import (JOBS_LOG, LaunchError, Resources, announce, check_cluster, check_shared,
                          pending_runs, require_sbatch, resources_for)
from jobs.context import JobContext

EXECUTORS = ("inline", "local", "slurm")
EXIT_INTERRUPTED = 3          # inline run stopped at a step boundary outside Slurm: rerun to resume
REPO = Path(__file__).resolve().parents[1]
_RESOURCE_FLAGS = {"partition": str, "account": str, "qos": str, "gpus": int, "cpus": int,
                   "mem_gb": float, "time_min": int, "constraint": str}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Executor and resource flags shared by every job subcommand (and `sweep`)."""
    g = parser.add_argument_group("where to run (defaults: $TOOLKIT_<FLAG>, then the cluster "
                                  "profile $TOOLKIT_CLUSTER_PROFILE or ~/.config/slm-toolkit/cluster.json)")
    g.add_argument("--executor", choices=EXECUTORS, default="inline",
                   help="inline: this process; local: submitit subprocess (waits); slurm: submit and return")
    g.add_argument("--wait", action="store_true", help="slurm: block until the jobs end")
    g.add_argument("--dry-run", action="store_true", help="slurm: print the sbatch script, submit nothing")
    g.add_argument("--allow-local-runs-root", action="store_true",
                   help="slurm: accept a runs root/cache under /tmp, /dev/shm... (single-node clusters)")
    g.add_argument("--print-run-dir", action="store_true", help="print the run dir(s) and exit")
    g.add_argument("--profile", default=None, metavar="NAME",
                   help='resources from "profiles": {NAME: {...}} of the cluster profile file '
                        "(default: $TOOLKIT_PROFILE); flags still win")
    for flag, typ in _RESOURCE_FLAGS.items():
        g.add_argument(f"--{flag.replace('_', '-')}", type=typ, default=None, dest=flag)


@dataclass(frozen=True)
class Task:
    """One job run: which job, its config, and the run dir that config maps to."""
    job: str
    cfg: RunConfig
    run_dir: Path


def make_tasks(job: str, cfgs: list[RunConfig], runs_root: Path) -> list[Task]:
    if job not in JOBS:
        raise LaunchError(f"unknown job {job!r}; choose one of: {', '.join(JOBS)}")
    root = Path(runs_root).expanduser().resolve()
    return [Task(job, c, rundir.run_dir_for(root, job, c.name, config_hash(c))) for c in cfgs]


def _absolute(ctx: JobContext, stop: threading.Event | None = None) -> JobContext:
    """The same context with absolute paths: a worker may start in another folder."""
    data_root = Path(ctx.data_root).expanduser().resolve() if ctx.data_root else None
    return JobContext(runs_root=Path(ctx.runs_root).expanduser().resolve(), data_root=data_root,
                      cache_dir=Path(ctx.cache_dir).expanduser().resolve(), stop=stop)


def _attempt(known: int = 0) -> int:
    """0-based attempt: the larger of ours and Slurm's restart count; exported for the trainer."""
    attempt = max(known, int(os.environ.get("SLURM_RESTART_COUNT") or 0))
    os.environ["TOOLKIT_ATTEMPT"] = str(attempt)
    return attempt


def _record(run_dir: Path, kind: str, **fields) -> None:
    """Append a submission/start row to <run_dir>/slurm/jobs.jsonl (read by `status`)."""
    rundir.append_jsonl(Path(run_dir) / JOBS_LOG,
                        {"kind": kind, "time": time.time(), **fields})


def _slurm_job_id() -> str:
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")


def _run_job(task: Task, ctx: JobContext, record: bool = True) -> dict:
    if record:
        _record(task.run_dir, "start", job_id=_slurm_job_id(), attempt=int(os.environ["TOOLKIT_ATTEMPT"]),
                host=os.uname().nodename, pid=os.getpid())
    return importlib.import_module(JOBS[task.job]).run(task.cfg, ctx)


class SubmittedRun(submitit.helpers.Checkpointable):
    """What a submitit worker runs: one job with one config, in a thread it can stop."""

    def __init__(self, task: Task, ctx: JobContext):
        self.job, self.cfg, self.run_dir = task.job, to_dict(task.cfg), str(task.run_dir)
        self.paths = (str(ctx.runs_root), ctx.data_root and str(ctx.data_root), str(ctx.cache_dir))
        self.attempt = 0

    def __call__(self) -> dict:
        self.attempt = _attempt(self.attempt)
        self._stop, box = threading.Event(), {}
        runs_root, data_root, cache_dir = self.paths
        ctx = JobContext(runs_root=Path(runs_root), data_root=data_root and Path(data_root),
                         cache_dir=Path(cache_dir), stop=self._stop)
        task = Task(self.job, from_dict(self.cfg), Path(self.run_dir))

        def target():
            try:
                box["summary"] = _run_job(task, ctx)
            except BaseException as exc:   # re-raised in the main thread: submitit reports it
                box["error"] = exc
        self._thread = threading.Thread(target=target, name=f"job-{self.job}", daemon=True)
        self._thread.start()
        while self._thread.is_alive():     # short joins: the USR2 handler runs in this thread
            self._thread.join(0.2)
        if "error" in box:
            raise box["error"]
        return box["summary"]

    def checkpoint(self) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on USR2 (time limit or preemption): save at a step, then requeue."""
        if getattr(self, "_thread", None) is not None:
            self._stop.set()
            self._thread.join()            # the trainer writes last.pt and returns "interrupted"
        self.attempt += 1
        return submitit.helpers.DelayedSubmission(self)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_stop", "_thread")}


def run_inline(task: Task, ctx: JobContext) -> int:
    """Run in this process; a stop signal saves at a step boundary (and requeues inside Slurm)."""
    if rundir.is_complete(task.run_dir):   # e.g. a template resubmitted: say so, train nothing
        print(f"[launch] already completed: {task.run_dir}", flush=True)
        return 0
    stop = threading.Event()
    _attempt()

    def on_signal(signum, _frame):
        print(f"[launch] {signal.Signals(signum).name}: stopping at the next step boundary", flush=True)
        stop.set()
        if signum == signal.SIGINT:        # a second Ctrl-C kills at once
            signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGUSR2, signal.SIGTERM, signal.SIGINT)}
    try:
        # outside Slurm the row would hold no job id, and a run that fails on its data would
        # leave a run dir behind holding nothing else
        summary = _run_job(task, _absolute(ctx, stop), record="SLURM_JOB_ID" in os.environ)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if summary.get("status") != "interrupted":
        print(f"[launch] {summary.get('status', 'done')}: {task.run_dir}", flush=True)
        return 0
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        print(f"[launch] interrupted; run the same command again to resume {task.run_dir}", flush=True)
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


def _executor_params(res: Resources, partition: str, name: str, parallel: int | None) -> dict:
    params = {"job_name": name, "time": res.time_min,
              "cpus_per_task": res.cpus, "mem": f"{int(res.mem_gb * 1024)}MB",
              "signal_delay_s": res.signal_delay_s, "stderr_to_stdout": True,
              "additional_parameters": {"requeue": True},
              # the worker unpickles jobs.launch.SubmittedRun: make this checkout importable
              "setup": [*res.setup,
                        f"export PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}"]}
    optional = {"partition": partition, "gpus_per_node": res.gpus, "account": res.account,
                "qos": res.qos, "constraint": res.constraint, "array_parallelism": parallel}
    params.update({k: v for k, v in optional.items() if v})
    return params


def submit_slurm(tasks: list[Task], ctx: JobContext, args, *, name: str, folder: Path,
                 parallel: int | None = None) -> list[str]:
    """Check everything, then submit all tasks with ONE sbatch (an array when several)."""
    res = resources_for(tasks, {k: getattr(args, k, None) for k in _RESOURCE_FLAGS}, args.profile)
    data_root = ctx.data_root or os.environ.get("DATA_ROOT")
    check_shared({"runs root (--runs-root)": ctx.runs_root, "data cache (--cache-dir, $DATA_CACHE)":
                  ctx.cache_dir, "data root (--data-root, $DATA_ROOT)": data_root and Path(data_root)},
                 args.allow_local_runs_root)
    if args.dry_run:
        partition = check_cluster(res) if _has_sbatch() else res.partition
        announce(res, partition, tasks, sys.stderr)   # stdout: the script alone
        command = f"{sys.executable} -u -m submitit.core._submit {folder / '%j'}"
        params = _executor_params(res, partition, name, parallel)
        print(_make_sbatch_string(command=command, folder=folder / "%j",
                                  map_count=len(tasks) if len(tasks) > 1 else None, **params))
        return []
    partition = check_cluster(res)
    announce(res, partition, tasks, sys.stdout)
    params = _executor_params(res, partition, name, parallel)
    executor = submitit.SlurmExecutor(folder=folder / "%j")
    executor.update_parameters(**params)
    ctx = _absolute(ctx)
    jobs = executor.submit_array([SubmittedRun(t, ctx) for t in tasks])
    for t, j in zip(tasks, jobs):
        _record(t.run_dir, "submitted", job_id=j.job_id, log=str(j.paths.stdout), executor="slurm")
        print(f"submitted job {j.job_id}  {t.run_dir}")
    if args.wait:
        _wait(jobs)
    return [j.job_id for j in jobs]


def _has_sbatch() -> bool:
    try:
        require_sbatch()
        return True
    except LaunchError as exc:
        print(f"[launch] note: {exc}; partition and node limits not checked", file=sys.stderr)
        return False


def _wait(jobs) -> None:
    """Block until every job ended; FailedJobError names the first one that failed."""
    for j in jobs:
        summary = j.result()
        print(f"job {j.job_id}: {summary.get('status') if isinstance(summary, dict) else summary}")


def run_local(tasks: list[Task], ctx: JobContext, args, parallel: int = 1) -> int:
    """submitit subprocesses on this machine, at most `parallel` at a time; waits for all."""
    res = resources_for(tasks, {k: getattr(args, k, None) for k in _RESOURCE_FLAGS}, args.profile)
    queue, running = list(tasks), []
    try:
        failed = _local_loop(queue, running, _absolute(ctx), res, parallel)
    except KeyboardInterrupt:
        for _, job in running:        # the controller kills its task; last.pt is kept
            job.cancel()
        raise
    return 1 if failed else 0


def _local_loop(queue: list[Task], running: list, ctx: JobContext, res: Resources, parallel: int) -> int:
    failed = 0
    while queue or running:
        while queue and len(running) < max(1, parallel):
            t = queue.pop(0)
            ex = submitit.LocalExecutor(folder=t.run_dir / rundir.SLURM / "%j")
            ex.update_parameters(timeout_min=res.time_min, signal_delay_s=res.signal_delay_s,
                                 gpus_per_node=res.gpus, setup=_executor_params(res, "", "", None)["setup"])
            job = ex.submit(SubmittedRun(t, ctx))
            _record(t.run_dir, "submitted", job_id=job.job_id, log=str(job.paths.stdout), executor="local")
            print(f"started local job {job.job_id}  {t.run_dir}", flush=True)
            running.append((t, job))
        time.sleep(0.5)
        for t, job in [r for r in running if r[1].done()]:
            running.remove((t, job))
            error = job.exception()
            failed += error is not None
            print(f"local job {job.job_id} {'FAILED: ' + str(error).splitlines()[0] if error else 'done'}"
                  f"  {t.run_dir}", flush=True)
    return failed


def execute(job_name: str, cfgs: list[RunConfig], ctx: JobContext, args) -> int:
    """Run `cfgs` of `job_name` with the executor `args` names; the process exit code."""
    try:
        tasks = make_tasks(job_name, cfgs, ctx.runs_root)
        if args.print_run_dir:
            print("\n".join(str(t.run_dir) for t in tasks))
            return 0
        if args.executor != "slurm" and (args.dry_run or args.wait):
            raise LaunchError("--dry-run and --wait go with --executor slurm (local always waits)")
        if args.executor == "inline":
            return run_inline_all(tasks, ctx)
        if args.executor == "local":
            return run_local(tasks, ctx, args)
        tasks = tasks if args.dry_run else pending_runs(tasks)
        if tasks:
            folder = tasks[0].run_dir / rundir.SLURM if len(tasks) == 1 else \
                Path(ctx.runs_root).resolve() / job_name / rundir.SLURM
            submit_slurm(tasks, ctx, args, name=f"{job_name}.{tasks[0].cfg.name}", folder=folder)
        return 0
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
