"""`main.py status` without Slurm: rows from real run dirs, interrupted/not-started states, sweeps."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from stop_after import StopAfter

from gpt import rundir
from gpt.overrides import apply_overrides
from jobs import job_module
from jobs.context import JobContext
from jobs.full_run import smoke
from jobs.tools.status import find_runs, format_table, run_row
from jobs.launcher.tasks import make_tasks

REPO = Path(__file__).resolve().parents[1]


def _main(*args, env=None):
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


def test_status_of_a_finished_run_without_slurm(tmp_path, data_root):
    runs = tmp_path / "runs"
    res = _main("sweep", "smoke", "train.max_iters=20", "--task-index", "0", "--runs-root", str(runs),
                "--data-root", str(data_root))
    assert res.returncode == 0, res.stderr
    (tmp_path / "bin").mkdir()
    no_slurm = {**os.environ, "PATH": str(tmp_path / "bin")}          # no squeue, no sacct
    for target in ("smoke", str(runs), str(runs / "full_run")):
        out = _main("status", target, "--runs-root", str(runs), "--json", env=no_slurm)
        assert out.returncode == 0, out.stderr
        row = json.loads(out.stdout.splitlines()[0])
        summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
        assert (row["state"], row["slurm"], row["step"], row["max_steps"], row["attempts"]) == \
            ("completed", "", 20, 20, 1)
        assert row["val_loss"] == summary["final_val_loss"] and row["run"].startswith("smoke-base-")
    table = _main("status", "smoke", "--runs-root", str(runs), env=no_slurm).stdout.splitlines()
    assert table[0].split() == ["exp", "run", "job", "job_id", "slurm", "state", "step", "val_loss",
                                "elapsed", "left", "attempts", "log"]
    assert len(table) == 5 and "20/20" in table[1] and table[2].split()[5:7] == ["not", "started"]


def test_interrupted_run_with_a_truncated_last_line(tmp_path):
    run_dir = tmp_path / "full_run" / "x-12345678"
    for row in ({"kind": "start", "step": 0, "max_iters": 50, "attempt": 0},
                {"kind": "val", "step": 10, "loss": 2.5, "elapsed_s": 61.0},
                {"kind": "stop", "step": 12, "attempt": 0},
                {"kind": "start", "step": 12, "max_iters": 50, "attempt": 1},
                {"kind": "train", "step": 20, "loss": 2.0, "elapsed_s": 75.0},
                {"kind": "stop", "step": 21, "attempt": 1}):
        rundir.append_jsonl(run_dir / rundir.METRICS, row)
    with open(run_dir / rundir.METRICS, "a") as f:
        f.write('{"kind": "train", "ste')                                 # killed mid-write
    rundir.append_jsonl(run_dir / "slurm" / "jobs.jsonl", {"kind": "submitted", "job_id": "42", "executor": "slurm"})
    [found] = find_runs(str(tmp_path), tmp_path)
    row = run_row(found["run_dir"])
    assert (row["state"], row["step"], row["max_steps"], row["val_loss"], row["attempts"], row["job_id"]) == \
        ("interrupted", 21, 50, 2.5, 2, "42")
    assert "00:01:15" in format_table([row]) and "21/50" in format_table([row])


def test_unknown_target_is_one_line_error(tmp_path):
    res = _main("status", "nosuchsweep", "--runs-root", str(tmp_path))
    assert res.returncode == 2 and res.stderr.startswith("error: ") and len(res.stderr.splitlines()) == 1


def test_summary_and_status_count_the_same_attempts_after_a_resubmission(tmp_path, data_root):
    """scancel + resubmit: the new job's SLURM_RESTART_COUNT is 0 again, as in the first (attempt=0
    both times here); summary.json, the start rows and `status` all count 2 attempts."""
    cfg = apply_overrides(smoke(), ["train.max_iters=12", "train.eval_interval=6", "train.eval_iters=1",
                                    "train.batch_size=4", "sample.max_new_tokens=4", "sample.temperatures=1.0"])
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache", attempt=0)
    [task] = make_tasks("full_run", [cfg], ctx.runs_root)
    ctx = replace(ctx, run_dir=task.run_dir)
    assert job_module("full_run").run(cfg, replace(ctx, stop=StopAfter(5)))["status"] == "interrupted"
    assert job_module("full_run").run(cfg, ctx)["status"] == "completed"
    summary = json.loads((task.run_dir / rundir.SUMMARY).read_text())
    starts = [r["attempt"] for r in rundir.read_jsonl(task.run_dir / rundir.METRICS) if r["kind"] == "start"]
    assert summary["attempts"] == run_row(task.run_dir)["attempts"] == 2 and starts == [0, 1]
