"""`--pack K` on the real cluster (issue 21): a 6-point grid packed 3 per array task is 2 array
tasks; `scontrol requeue` mid-run resumes every point to exactly the unpacked sweep's metrics;
a point killed mid-run is reported by `status` while its two neighbours finish."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from slurm_helpers import (
    REPO,
    SMALL,
    job_field,
    main_py,
    metrics,
    status_rows,
    wait_for,
    wait_gone,
)

from gpt import rundir

pytestmark = pytest.mark.slurm

STEPS = 24
TINY = [f"train.max_iters={STEPS}", "train.eval_interval=12", "train.eval_iters=1", "train.batch_size=4",
        "train.log_interval=1", "sample.max_new_tokens=4", "sample.temperatures=1.0"]
GRID = ["sweep", "grid", "optim.lr=1e-3,2e-3,3e-3", "seed=1,2", "--preset", "smoke", *TINY]


def _curves(run_dir) -> dict:
    """The metrics a resume must reproduce: train and val losses by step (times excluded)."""
    return {kind: {r["step"]: r["loss"] for r in metrics(run_dir, kind)} for kind in ("train", "val")}


def _run_dirs(runs) -> list:
    index = json.loads((runs / "sweeps" / "g" / "index.json").read_text())
    return [Path(r["run_dir"]) for r in index["runs"]]


def _submitted_ids(stdout: str) -> list[str]:
    return [line.split()[2] for line in stdout.splitlines() if line.startswith("submitted job")]


def test_packed_grid_is_two_array_tasks_and_a_requeue_resumes_every_point_exactly(env, tmp_path, sbatch_log):
    runs, ref = tmp_path / "packed", tmp_path / "unpacked"
    out = main_py(*GRID, "--sweep-name", "g", "--executor", "slurm", "--pack", "3", *SMALL,
                  "--runs-root", str(runs), env=sbatch_log.env).stdout
    ids = _submitted_ids(out)
    array = ids[0].split("_")[0]
    assert ids == [f"{array}_0"] * 3 + [f"{array}_1"] * 3 and len(sbatch_log.calls()) == 1
    # the unpacked sweep, run here one point after another, meanwhile
    unpacked = subprocess.Popen([sys.executable, "main.py", *GRID, "--sweep-name", "g", "--runs-root", str(ref)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dirs = _run_dirs(runs)
    # requeue array task 0 while its second point trains: point 0 is then done, point 2 not started
    wait_for(lambda: any(r["step"] >= 2 for r in metrics(dirs[1], "train")) if dirs[1].is_dir() else False,
             timeout_s=300, what="point 1 training")
    subprocess.run(["scontrol", "requeue", f"{array}_0"], check=True)
    assert unpacked.communicate(timeout=600)[0] and unpacked.returncode == 0
    wait_gone([array], timeout_s=600)
    assert [job_field(f"{array}_{i}", "JobState") for i in (0, 1)] == ["COMPLETED"] * 2
    assert job_field(f"{array}_0", "Restarts") == "1"
    rows = status_rows("g", env, runs)
    assert [r["state"] for r in rows] == ["completed"] * 6                # points, not array tasks
    assert [r["job_id"] for r in rows] == ids
    stops = metrics(dirs[1], "stop")
    assert stops and [s["attempt"] for s in metrics(dirs[1], "start")] == [0, 1], "no mid-run requeue"
    assert [s["attempt"] for s in metrics(dirs[0], "start")] == [0]      # done: skipped on requeue
    for packed_dir, ref_dir in zip(dirs, _run_dirs(ref)):
        curves = _curves(packed_dir)
        assert curves == _curves(ref_dir) and len(curves["train"]) == STEPS, packed_dir.name
        assert (rundir.read_json(packed_dir / rundir.SUMMARY)["best_val_loss"] ==
                rundir.read_json(ref_dir / rundir.SUMMARY)["best_val_loss"])


def test_a_killed_point_is_reported_and_its_two_neighbours_finish(env, tmp_path):
    runs = tmp_path / "runs"
    out = main_py("sweep", "grid", "seed=1,2,3", "--preset", "smoke", *TINY, "--sweep-name", "g",
                  "--executor", "slurm", "--pack", "3", *SMALL, "--runs-root", str(runs), env=env).stdout
    [job] = set(_submitted_ids(out))                  # 3 points, K=3: one job, no array
    first = _run_dirs(runs)[0]

    def started() -> list[dict]:
        return [r for r in rundir.read_jsonl(first / "slurm" / "jobs.jsonl") if r["kind"] == "start"]
    wait_for(lambda: (first / "slurm" / "jobs.jsonl").is_file() and started(), timeout_s=300,
             what="point 0 to start")
    os.kill(started()[0]["pid"], signal.SIGKILL)    # the point's own process, not the array task
    wait_gone([job], timeout_s=300)
    assert job_field(job, "JobState") == "FAILED"                           # the task says: some failed
    rows = status_rows("g", env, runs)
    assert [r["state"] for r in rows] == ["failed (exit -9)", "completed", "completed"]
    log = (runs / "sweeps" / "g" / "slurm" / f"{job}_log.out").read_text()
    assert "[pack] point 0: FAILED (exit -9)" in log and "[pack] point 2: done" in log
