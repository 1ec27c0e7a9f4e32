"""What a launcher-submitted Slurm job runs: `python -m jobs.launcher.worker TASKS_JSON`.

TASKS_JSON (written by jobs/launcher/slurm_submit.py's task_spec next to the sbatch script) holds the runs of one
submission and the context paths; task $SLURM_ARRAY_TASK_ID (0 outside an array) runs inline,
so it behaves like a template job: USR2 (time limit, preemption) saves and requeues, scancel's
SIGTERM saves and ends the job. No submitit on this side.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from gpt.overrides import from_dict
from jobs.context import JobContext


def load(spec: dict, index: int):
    """(task number `index` of a task-list spec as a jobs.launcher.tasks.Task, its JobContext)."""
    from jobs import config_type
    from jobs.launcher.tasks import Task
    t = spec["tasks"][index]
    task = Task(t["job"], from_dict(t["cfg"], config_type(t["job"])), Path(t["run_dir"]))
    ctx = JobContext(runs_root=Path(spec["runs_root"]), cache_dir=Path(spec["cache_dir"]),
                     data_root=spec["data_root"] and Path(spec["data_root"]))
    return task, ctx


def main(argv: list[str]) -> int:
    """Run one task of the spec file argv[0] inline; the process exit code."""
    from jobs.errors import exit_code
    from jobs.launcher.launch import run_inline

    def run() -> int:
        spec = json.loads(Path(argv[0]).read_text())
        return run_inline(*load(spec, int(os.environ.get("SLURM_ARRAY_TASK_ID") or 0)))
    return exit_code(run)   # expected errors: one line and exit 2 (the job FAILS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
