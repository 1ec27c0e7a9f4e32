"""Slurm jobs queued before the launcher moved to jobs/launcher/ run the old entry points
`python -m jobs.worker TASKS_JSON` and `python -m jobs.pack_worker TASKS_JSON`; the forwarding
shims keep them working for one release. Each test runs the old entry point for real on a
task list written as the launcher writes it, and the task trains to its summary."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpt import rundir
from gpt.overrides import apply_overrides
from jobs import job_module
from jobs.context import JobContext
from jobs.launcher.slurm_submit import task_spec
from jobs.launcher.tasks import make_tasks

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.max_iters=4", "train.eval_interval=2", "train.eval_iters=1", "sample.max_new_tokens=4"]


def _queued(tmp_path: Path, data_root: Path, **extra) -> tuple[Path, Path]:
    """(task-list file of one tiny full_run task, its run dir), as a submission wrote it."""
    cfg = apply_overrides(job_module("full_run").PRESETS["smoke"](), TINY)
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache")
    [task] = make_tasks("full_run", [cfg], ctx.runs_root)
    spec = tmp_path / "tasks.json"
    spec.write_text(json.dumps(task_spec([task], ctx) | extra))
    return spec, task.run_dir


@pytest.mark.parametrize("entry, extra", [("jobs.worker", {}),
                                          ("jobs.pack_worker", {"pack": 2, "pack_mode": "seq"})])
def test_an_entry_point_of_the_old_layout_runs_its_queued_task(tmp_path, data_root, entry, extra):
    spec, run_dir = _queued(tmp_path, data_root, **extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")} | {"SLURM_ARRAY_TASK_ID": "0"}
    res = subprocess.run([sys.executable, "-m", entry, str(spec)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert rundir.read_json(run_dir / rundir.SUMMARY)["status"] == "completed"
