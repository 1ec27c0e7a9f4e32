"""Helpers of the Slurm integration tests: run main.py and sbatch, poll the queue, read metrics."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from gpt import rundir

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--cpus", "1", "--mem-gb", "2", "--allow-local-runs-root"]   # launcher flags
SBATCH_SMALL = ["--cpus-per-task=1", "--mem=2G"]                      # template overrides


def main_py(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def sbatch(*args: str, env: dict, log_dir: Path) -> str:
    """sbatch from the repo root (as a user would); logs to log_dir. Returns the job id."""
    res = subprocess.run(["sbatch", "--parsable", f"--output={log_dir}/%x-%j.out", *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().split(";")[0]


def job_field(job_id: str, field: str) -> str:
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout
    for token in out.split():
        if token.startswith(field + "="):
            return token.split("=", 1)[1]
    return ""


def wait_gone(job_ids: list[str], timeout_s: float = 300) -> float:
    """Poll squeue until none of the jobs (or arrays) is queued; returns the time it took."""
    t0 = time.time()
    while subprocess.run(["squeue", "-h", "-j", ",".join(job_ids)], capture_output=True,
                         text=True).stdout.strip():
        assert time.time() - t0 < timeout_s, f"jobs {job_ids} still queued after {timeout_s} s"
        time.sleep(0.2)
    return time.time() - t0


def wait_for(predicate, timeout_s: float = 180, what: str = "condition") -> float:
    t0 = time.time()
    while not predicate():
        assert time.time() - t0 < timeout_s, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)
    return time.time() - t0


def status_rows(target: str, env: dict, runs_root: Path) -> list[dict]:
    res = main_py("status", target, "--runs-root", str(runs_root), "--json", env=env)
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def metrics(run_dir: Path, kind: str) -> list[dict]:
    return [r for r in rundir.read_jsonl(run_dir / rundir.METRICS) if r.get("kind") == kind]


def report(name: str, value) -> None:
    """Measured numbers land in the test output (pytest -s) and in slurm-numbers.jsonl."""
    print(f"[measure] {name}: {value}")
    with open(REPO / "slurm" / "slurm-numbers.jsonl", "a") as f:
        f.write(json.dumps({"name": name, "value": value, "time": time.time()}) + "\n")
