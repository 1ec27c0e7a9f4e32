"""A job run as the launcher handles it: which job, its config, and the run dir that config maps to.

    [task] = make_tasks("full_run", [cfg], runs_root)   # task.run_dir: runs/full_run/<name>-<hash8>

Light on purpose (no submitit, no torch): the reproduction table and the sweep index read tasks
without importing an executor.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpt.config import RunConfig
from gpt.overrides import locate_run_dir
from jobs import JOBS
from jobs.errors import LaunchError


@dataclass(frozen=True)
class Task:
    """One job run: which job, its config, and the run dir that config maps to."""
    job: str
    cfg: RunConfig
    run_dir: Path


def make_tasks(job: str, cfgs: list[RunConfig], runs_root: Path) -> list[Task]:
    """One Task per config, with the run dir its config maps to (an older-hash dir if it exists)."""
    if job not in JOBS:
        raise LaunchError(f"unknown job {job!r}; choose one of: {', '.join(JOBS)}")
    root = Path(runs_root).expanduser().resolve()
    return [Task(job, c, locate_run_dir(root, job, c)) for c in cfgs]
