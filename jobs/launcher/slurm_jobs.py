"""What Slurm says about jobs already submitted: state, why a job waits, time left, log, restarts;
and cancelling them. Every query tolerates a machine without Slurm (empty answers, never raises).

    details = job_details(["123", "124_0"])   # {"123": {"state": "PENDING", "reason": "Priority", ...}}
    cancel_jobs(["123", "124_0"])              # scancel: each saves at a step and ends CANCELLED
"""
from __future__ import annotations

import getpass
import re
import shutil
import subprocess

ACTIVE_STATES = ("PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
                 "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT")


def job_states(job_ids: list[str]) -> dict[str, str]:
    """Slurm state of each job id (`123` or `123_4`): squeue first, then sacct. Never raises."""
    return {j: d["state"] for j, d in job_details(job_ids).items()}


def job_details(job_ids: list[str]) -> dict[str, dict]:
    """{"state", "reason", "time_left"} of each job id: the state from sacct, then squeue (fresher),
    which also gives why a pending job waits (%R) and a running job's time left (%L). Never raises."""
    ids = sorted({j for j in job_ids if j})
    if not ids or shutil.which("squeue") is None:
        return {}
    details = {}
    arrays = sorted({j.split("_")[0] for j in ids})   # by the array's id: also tasks that never started
    for cmd in (["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(sorted(set(ids) | set(arrays)))],
                ["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i|%T|%R|%L"]):   # last: fresher
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            job_id, state, reason, left = (line.split("|") + ["", "", ""])[:4]
            state = state.split()[0] if state else ""
            for one in set(_task_ids(job_id)) & set(ids):
                details[one] = {"state": state, "reason": reason if state == "PENDING" else "",
                                "time_left": left if state == "RUNNING" else ""}
    return details


def _task_ids(job_id: str) -> list[str]:
    """`123_[1-3%2]` (how sacct names array tasks that never started) -> 123_1 123_2 123_3;
    any other id as it is."""
    match = re.fullmatch(r"(\d+)_\[([\d,-]+)(?:%\d+)?\]", job_id)
    if not match:
        return [job_id]
    tasks = []
    for part in match.group(2).split(","):
        first, _, last = part.partition("-")
        tasks += range(int(first), int(last or first) + 1)
    return [f"{match.group(1)}_{i}" for i in tasks]


def requeued_by_slurm(job_id: str, restart_count: int) -> bool:
    """Whether Slurm is requeueing the running job `job_id` (`123` or `123_4`) itself, e.g. after
    `scontrol requeue`: its Restarts counter is already past this attempt's SLURM_RESTART_COUNT
    when the SIGTERM arrives (a plain scancel leaves it equal). False when Slurm cannot say."""
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    restarts = re.search(r"\bRestarts=(\d+)", out.split("\n", 1)[0])
    return restarts is not None and int(restarts.group(1)) > restart_count


def log_path(job_id: str) -> str:
    """The StdOut file Slurm writes job `job_id`'s log to, while it still knows the job ("" after)."""
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    match = re.search(r"\bStdOut=(\S+)", out.split("\n", 1)[0])
    return match.group(1) if match else ""


def cancel_jobs(job_ids: list[str]) -> str:
    """`scancel` the jobs (array tasks as `123_4`); the error text, "" when it worked."""
    try:
        out = subprocess.run(["scancel", *job_ids], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return out.stderr.strip() if out.returncode else ""
