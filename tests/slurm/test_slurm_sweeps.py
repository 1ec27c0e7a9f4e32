"""The smoke sweep as ONE job array with parallelism 2 (b), and what `status` shows meanwhile (e).

Before submitting, one run of the sweep is finished here and another interrupted here, so the
submission must skip the first and resume the second. Timings are printed (pytest -s) and
appended to slurm/slurm-numbers.jsonl.
"""
from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import time

import pytest
from slurm_helpers import REPO, SMALL, main_py, metrics, report, status_rows, wait_for

pytestmark = pytest.mark.slurm


def _interrupted_inline_run(env, runs, *overrides: str):
    """A run of the sweep started here and stopped by USR2 after 10 steps (exit code 3)."""
    proc = subprocess.Popen([sys.executable, "main.py", "sweep", "smoke", *overrides, "--task-index", "1",
                             "--runs-root", str(runs)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: any(r["step"] >= 10 for d in (runs / "full_run").glob("smoke-lr1e-3-*")
                         for r in metrics(d, "train")), what="10 steps of run 1")
    proc.send_signal(signal.SIGUSR2)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out


def _poll_array(array_id: str) -> int:
    """Until the array left the queue: the most tasks seen RUNNING at once (asserted <= 2)."""
    most = 0
    while True:
        out = subprocess.run(["squeue", "-h", "-r", "-j", array_id, "-o", "%i %T"],
                             capture_output=True, text=True).stdout.split("\n")
        rows = [line.split() for line in out if line.strip()]
        if not rows:
            return most
        most = max(most, sum(state == "RUNNING" for _, state in rows))
        assert most <= 2, rows
        time.sleep(0.2)


def _sacct_times(array_id: str) -> list[tuple[float, float]]:
    """(start, end) unix times of each task of the array, once the accounting database has them."""
    def lines():
        return subprocess.run(["sacct", "-n", "-X", "-P", "-j", array_id, "-o", "Start,End"],
                              capture_output=True, text=True, check=True).stdout.split()
    wait_for(lambda: "Unknown" not in "".join(lines()), timeout_s=60, what="sacct end times")
    parse = lambda t: datetime.datetime.fromisoformat(t).timestamp()   # noqa: E731
    return [(parse(a), parse(b)) for a, b in (line.split("|") for line in lines())]


def test_smoke_sweep_is_one_array_with_parallelism_2(env, tmp_path, sbatch_log):
    # 300 steps: the USR2 sent after step 10 must land before the end, however idle the machine
    runs, extra = tmp_path / "runs", ["train.max_iters=300"]
    main_py("sweep", "smoke", *extra, "--task-index", "0", "--runs-root", str(runs), env=env)
    _interrupted_inline_run(env, runs, *extra)

    t0 = time.time()
    res = main_py("sweep", "smoke", *extra, "--executor", "slurm", "--parallel", "2", *SMALL,
                  "--runs-root", str(runs), env=sbatch_log.env)
    submit_s = time.time() - t0
    assert "skip smoke-base: already completed" in res.stdout
    index = json.loads((runs / "sweeps" / "smoke" / "index.json").read_text())
    [submission] = index["submissions"]
    assert submission["n_tasks"] == 3 and len(index["runs"]) == 4 and len(sbatch_log.calls()) == 1
    array_id = submission["array_job_id"]

    early = {r["run"]: r for r in status_rows("smoke", env, runs)}
    assert _poll_array(array_id) == 2
    times = _sacct_times(array_id)
    assert len(times) == 3, times
    rows = status_rows("smoke", env, runs)
    assert [r["state"] for r in rows] == ["completed"] * 4
    assert [r["slurm"] for r in rows] == ["", "COMPLETED", "COMPLETED", "COMPLETED"]
    assert [r["job_id"] for r in rows[1:]] == [f"{array_id}_{i}" for i in range(3)]
    assert {r["slurm"] for r in list(early.values())[1:]} <= {"PENDING", "RUNNING"}
    resumed = metrics(runs / "full_run" / rows[1]["run"], "start")
    assert [s["resumed"] for s in resumed] == [False, True] and rows[1]["attempts"] == 2

    again = main_py("sweep", "smoke", *extra, "--executor", "slurm", "--parallel", "2", *SMALL,
                    "--runs-root", str(runs), env=sbatch_log.env)
    assert "nothing to submit" in again.stdout and len(sbatch_log.calls()) == 1
    report("sweep smoke (3 tasks, %2): submit command wall s", round(submit_s, 1))
    report("sweep smoke (3 tasks, %2): submit -> last task running s", round(max(s for s, _ in times) - t0, 1))
    report("sweep smoke (3 tasks, %2): submit -> all done s", round(max(e for _, e in times) - t0, 1))
    report("sbatch calls per sweep submission", 1)
