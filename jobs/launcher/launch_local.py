"""`--executor local`: each run in a submitit subprocess on this machine, waited for. The only
importer of submitit, and imported only for this executor (jobs/launcher/launch.py's dispatch), so an inline
run, what a Slurm job or a GPU node runs, works where submitit is not installed.

    python main.py full_run --preset smoke --executor local

submitit's USR2 handler calls `SubmittedRun.checkpoint`, which sets the stop event, waits for the
job thread to save `last.pt`, and hands submitit the same run to requeue; the rerun resumes.
"""
from __future__ import annotations

import shlex
import threading
import time
from pathlib import Path

import submitit

from gpt import rundir
from gpt.overrides import from_dict, to_dict
from jobs import config_type
from jobs.launcher.cluster import resources_for
from jobs.context import JobContext
from jobs.launcher.launch import _absolute, _attempt, _record, _run_job
from jobs.launcher.request import LaunchRequest
from jobs.launcher.sbatch import Resources
from jobs.launcher.tasks import Task

REPO = Path(__file__).resolve().parents[2]


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
                         cache_dir=Path(cache_dir), stop=self._stop, attempt=self.attempt)
        task = Task(self.job, from_dict(self.cfg, config_type(self.job)), Path(self.run_dir))

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


def _setup(res: Resources) -> list[str]:
    """Shell lines before a local submitit worker: the profile's, then this checkout importable."""
    return [*res.setup, f"export PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}"]


def run_local(tasks: list[Task], ctx: JobContext, request: LaunchRequest) -> int:
    """submitit subprocesses on this machine, at most `request.parallel` (default 1) at a time;
    waits for all."""
    res, parallel = resources_for(tasks, request.resources, request.profile), request.parallel or 1
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
                                 gpus_per_node=res.gpus, setup=_setup(res))
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
