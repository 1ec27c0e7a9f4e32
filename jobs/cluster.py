"""Resources a job asks for, and the questions put to Slurm before anything is submitted.

    res = load_resources({"cpus": 1, "partition": None})   # flags > $TOOLKIT_* > profile > defaults
    check_cluster(res)                                      # LaunchError if no node could run it

Defaults come, in order, from the command-line flags, the environment (`TOOLKIT_PARTITION`,
`TOOLKIT_ACCOUNT`, `TOOLKIT_QOS`, `TOOLKIT_GPUS`, `TOOLKIT_CPUS`, `TOOLKIT_MEM_GB`,
`TOOLKIT_TIME_MIN`, `TOOLKIT_CONSTRAINT`, `TOOLKIT_SIGNAL_DELAY_S`), a cluster profile
(`$TOOLKIT_CLUSTER_PROFILE`, else `~/.config/slm-toolkit/cluster.json`: a JSON object with any
of the field names below, plus `"setup": ["module load cuda", ...]` shell lines run before the
job), and the field defaults. `pending_runs` drops runs that are done or still queued, from
each run's `slurm/jobs.jsonl` (every submission and start, with its job id). No submitit here:
that lives in `jobs/launch.py`.
"""
from __future__ import annotations

import dataclasses
import getpass
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gpt import rundir

PROFILE = Path("~/.config/slm-toolkit/cluster.json")
JOBS_LOG = f"{rundir.SLURM}/jobs.jsonl"   # in each run dir: submissions and starts, with job ids
# Folders that exist on every machine but hold different files on each (or vanish with the job).
NODE_LOCAL = ("/tmp", "/var/tmp", "/dev/shm", "/run")
ACTIVE_STATES = ("PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
                 "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT")


class LaunchError(RuntimeError):
    """Submission refused before anything reached the scheduler; the message says how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Resources:
    partition: str = ""          # "" = the cluster's default partition
    account: str = ""
    qos: str = ""
    gpus: int = 0                # per job (one node)
    cpus: int = 1                # per task
    mem_gb: float = 4.0
    time_min: int = 60
    constraint: str = ""
    signal_delay_s: int = 120    # USR2 this long before the time limit: save and requeue
    setup: tuple[str, ...] = ()  # shell lines before the job (module load ..., conda activate ...)

    def __post_init__(self) -> None:
        for key in ("gpus", "cpus", "mem_gb", "time_min", "signal_delay_s"):
            value = getattr(self, key)
            if value < 0 or (value == 0 and key in ("cpus", "mem_gb", "time_min")):
                raise LaunchError(f"--{key.replace('_', '-')} {value} must be positive")


def _profile() -> dict:
    path = Path(os.environ.get("TOOLKIT_CLUSTER_PROFILE", PROFILE)).expanduser()
    if not path.is_file():
        if "TOOLKIT_CLUSTER_PROFILE" in os.environ:
            raise LaunchError(f"cluster profile {path} ($TOOLKIT_CLUSTER_PROFILE) does not exist")
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LaunchError(f"cluster profile {path} is not valid JSON: {exc}") from None
    valid = {f.name for f in dataclasses.fields(Resources)}
    unknown = sorted(set(data) - valid) if isinstance(data, dict) else ["(not an object)"]
    if unknown:
        raise LaunchError(f"cluster profile {path}: unknown key(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(valid))}")
    return data


def load_resources(flags: dict) -> Resources:
    """Resources from flags (None = not given), then $TOOLKIT_<FIELD>, the profile, defaults."""
    profile = _profile()
    values = {}
    for f in dataclasses.fields(Resources):
        env = os.environ.get(f"TOOLKIT_{f.name.upper()}")
        if flags.get(f.name) is not None:
            values[f.name] = flags[f.name]
        elif env is not None and f.name != "setup":
            try:
                values[f.name] = type(f.default)(env)
            except ValueError:
                raise LaunchError(f"$TOOLKIT_{f.name.upper()}={env!r} is not a valid "
                                  f"{type(f.default).__name__}") from None
        elif f.name in profile:
            values[f.name] = tuple(profile[f.name]) if f.name == "setup" else profile[f.name]
    return Resources(**values)


def _slurm(*args: str) -> str:
    """Run a Slurm client command; LaunchError with its message when it fails."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise LaunchError(f"{args[0]} not found: is this a Slurm login node?") from None
    if out.returncode != 0:
        raise LaunchError(f"`{' '.join(args)}` failed: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def require_sbatch() -> None:
    if shutil.which("sbatch") is None:
        raise LaunchError("sbatch not found on PATH: submit from the cluster's login node, "
                          "or run here with --executor inline or --executor local")


def _gpus(gres: str) -> int:
    """GPUs in a `sinfo %G` string such as `gpu:2` or `gpu:a100:4(S:0-1),tmpdisk:100`."""
    return sum(int(m) for m in re.findall(r"(?:^|,)gpu(?::[^:,(]+)?:(\d+)", gres))


def check_cluster(res: Resources) -> str:
    """Refuse (LaunchError) a partition that does not exist or a job no node can hold.

    Returns the partition the job will go to (the default one when none was asked for)."""
    require_sbatch()
    parts = {}
    for line in _slurm("sinfo", "-h", "-o", "%P").split():
        parts[line.rstrip("*")] = line.endswith("*")
    partition = res.partition or next((p for p, default in parts.items() if default), "")
    if partition not in parts:
        asked = f"partition {res.partition!r} does not exist" if res.partition else \
            "the cluster has no default partition"
        raise LaunchError(f"{asked}; choose one of: {', '.join(parts)} (--partition)")
    nodes = []
    for line in _slurm("sinfo", "-h", "-N", "-p", partition, "-o", "%N|%c|%m|%G").splitlines():
        name, cpus, mem_mb, gres = line.split("|")
        nodes.append((name, int(cpus.rstrip("+")), int(mem_mb.rstrip("+")), _gpus(gres)))
    fits = [n for n in nodes
            if n[1] >= res.cpus and n[2] >= res.mem_gb * 1024 and n[3] >= res.gpus]
    if not fits:
        biggest = ", ".join(f"{n}: {c} CPUs {m / 1024:.1f} GB {g} GPUs" for n, c, m, g in
                            sorted(set(nodes), key=lambda n: n[1:], reverse=True)[:3])
        raise LaunchError(f"no node of partition {partition} has {res.cpus} CPUs, {res.mem_gb:g} GB "
                          f"and {res.gpus} GPUs (largest: {biggest}); lower --cpus/--mem-gb/--gpus")
    return partition


def check_shared(path: Path, allow_local: bool) -> None:
    """Refuse a folder compute nodes cannot see (node-local /tmp and the like)."""
    real = Path(path).expanduser().resolve()
    local = [p for p in NODE_LOCAL if real == Path(p) or Path(p) in real.parents]
    if local and not allow_local:
        raise LaunchError(f"{real} is under {local[0]}, which compute nodes do not share; use a "
                          f"folder on the shared filesystem (--runs-root / --cache-dir), or "
                          f"--allow-local-runs-root on a single-node cluster")


def job_states(job_ids: list[str]) -> dict[str, str]:
    """Slurm state of each job id (`123` or `123_4`): squeue first, then sacct. Never raises."""
    ids = sorted({j for j in job_ids if j})
    if not ids or shutil.which("squeue") is None:
        return {}
    states = {}
    for cmd in (["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids)],
                ["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i|%T"]):   # last: fresher
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            job_id, _, state = line.partition("|")
            if job_id in ids:
                states[job_id] = state.split()[0] if state else ""
    return states


def pending_runs(tasks: list) -> list:
    """Tasks (with .run_dir, .cfg) minus runs that completed or whose last Slurm submission is
    still queued or running; says which were skipped and why."""
    last_ids = {t.run_dir: _last_job_id(t.run_dir) for t in tasks}
    states = job_states([j for j in last_ids.values() if j])
    keep = []
    for t in tasks:
        state = states.get(last_ids[t.run_dir], "")
        if rundir.is_complete(t.run_dir):
            print(f"[launch] skip {t.cfg.name}: already completed ({t.run_dir})")
        elif state in ACTIVE_STATES:
            print(f"[launch] skip {t.cfg.name}: job {last_ids[t.run_dir]} is {state} ({t.run_dir})")
        else:
            keep.append(t)
    return keep


def _last_job_id(run_dir: Path) -> str:
    rows = rundir.read_jsonl(Path(run_dir) / JOBS_LOG)
    return next((r["job_id"] for r in reversed(rows)
                 if r.get("kind") == "submitted" and r.get("executor") == "slurm"), "")
