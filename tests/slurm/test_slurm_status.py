"""`status` of a sweep on real Slurm while it runs: why a task waits, a running task's time left
and its log; then `status NAME --cancel` cancels the whole sweep (each run saves at a step).
Status runs in this process (main.main) to keep the polling cheap."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from slurm_helpers import SMALL, job_field, main_py, wait_for, wait_gone

import main

pytestmark = pytest.mark.slurm


def test_status_shows_reason_time_left_and_log_and_cancel_stops_the_whole_sweep(env, tmp_path, capsys):
    runs = tmp_path / "runs"
    out = main_py("sweep", "smoke", "train.max_iters=100000", "--executor", "slurm", "--parallel", "1", *SMALL,
                  "--time-min", "10", "--runs-root", str(runs), env=env).stdout
    [array_id] = re.findall(r"array job (\d+)", out)

    def status(*flags: str) -> str:
        assert main.main(["status", "smoke", "--runs-root", str(runs), *flags]) == 0
        return capsys.readouterr().out

    def rows() -> list[dict]:
        return [json.loads(line) for line in status("--json").splitlines()]

    def running_and_waiting() -> bool:
        states = subprocess.run(["squeue", "-h", "-r", "-j", array_id, "-o", "%T"], capture_output=True,
                                text=True, check=False).stdout.split()
        return "RUNNING" in states and "PENDING" in states
    wait_for(running_and_waiting, timeout_s=240, what="one task running, the others pending")
    table = rows()
    ids = [r["job_id"] for r in table]
    running = next(r for r in table if r["slurm"] == "RUNNING")
    assert running["time_left"].count(":") >= 1 and running["reason"] == ""
    assert running["log"].endswith(f"{running['job_id']}_log.out")
    assert {r["reason"] for r in table if r["slurm"] == "PENDING"} <= {"JobArrayTaskLimit", "Priority", "Resources"}
    assert any(r["reason"] == "JobArrayTaskLimit" for r in table if r["slurm"] == "PENDING"), table
    text = status()
    assert "PENDING(JobArrayTaskLimit)" in text and running["log"] in text

    assert f"cancelled {len(ids)} job(s): {' '.join(ids)}" in status("--cancel")
    wait_gone([array_id], timeout_s=120)
    assert job_field(ids[0], "JobState") == "CANCELLED"     # pending tasks never got a record of their own
    # every task has stopped: the started one CANCELLED; sacct may or may not keep a record of the
    # tasks that never started (seen both ways on one cluster, depending on what ran before)
    wait_for(lambda: (lambda states: states[0] == "CANCELLED" and not {"PENDING", "RUNNING"} & set(states))(
        [r["slurm"] for r in rows()]), timeout_s=180, what="every task of the sweep to stop, the first CANCELLED")
    assert "nothing to cancel" in status("--cancel")
