"""Where a job's Resources (jobs/launcher/sbatch.py) come from, and the questions put to Slurm
before anything is submitted.

    res = load_resources({"cpus": 1, "partition": None}, profile="gpu", min_gpus=1,
                         why="device=cuda")   # flags > $TOOLKIT_* > profile > the job's needs > defaults
    print(describe(res, check_cluster(res)))  # LaunchError if no node could run it

Defaults come, in order, from the command-line flags, the environment (`TOOLKIT_PARTITION`,
`TOOLKIT_ACCOUNT`, `TOOLKIT_QOS`, `TOOLKIT_GPUS`, `TOOLKIT_CPUS`, `TOOLKIT_MEM_GB`,
`TOOLKIT_TIME_MIN`, `TOOLKIT_CONSTRAINT`, `TOOLKIT_SIGNAL_DELAY_S`, `TOOLKIT_NODES`,
`TOOLKIT_TASKS_PER_NODE`: `$TOOLKIT_<FIELD>` of each field that has one), a cluster profile
(`$TOOLKIT_CLUSTER_PROFILE`, else `~/.config/slm-toolkit/cluster.json`: a JSON object with any
of the Resources field names, plus `"setup": ["module load cuda", ...]` shell lines run before the
job, and `"profiles": {"NAME": {...}}` overlaid on it by `--profile NAME` or $TOOLKIT_PROFILE),
what the job needs (a GPU when it will use CUDA), and the field defaults. `pending_runs` drops
runs that are done or still queued, from each run's `slurm/jobs.jsonl` (every submission and
start, with its job id). No submitit here: that lives in `jobs/launcher/launch_local.py`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from gpt import rundir
from jobs import job_module
from jobs.errors import LaunchError
from jobs.launcher.sbatch import Resources, env_var
from jobs.launcher.slurm_jobs import ACTIVE_STATES, job_states

PROFILE = Path("~/.config/slm-toolkit/cluster.json")
JOBS_LOG = f"{rundir.SLURM}/jobs.jsonl"   # in each run dir: submissions and starts, with job ids
# Folders that exist on every machine but hold different files on each (or vanish with the job).
NODE_LOCAL = ("/tmp", "/var/tmp", "/dev/shm", "/run")


def _check_keys(data, where: str) -> None:
    valid = {f.name for f in dataclasses.fields(Resources)}
    unknown = sorted(set(data) - valid) if isinstance(data, dict) else ["(not an object)"]
    if unknown:
        raise LaunchError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(sorted(valid))}")


def _profile(name: str | None) -> dict:
    """The profile file's top-level values, overlaid by `profiles[name]` when a name is given."""
    path = Path(os.environ.get("TOOLKIT_CLUSTER_PROFILE", PROFILE)).expanduser()
    name = name or os.environ.get("TOOLKIT_PROFILE") or None
    if not path.is_file():
        if "TOOLKIT_CLUSTER_PROFILE" in os.environ:
            raise LaunchError(f"cluster profile {path} ($TOOLKIT_CLUSTER_PROFILE) does not exist")
        if name:
            raise LaunchError(f"--profile {name}: there is no profile file {path}; write one "
                              f'(e.g. {{"profiles": {{"{name}": {{"partition": "gpu", "gpus": 1}}}}}}) '
                              f"or point $TOOLKIT_CLUSTER_PROFILE at it")
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LaunchError(f"cluster profile {path} is not valid JSON: {exc}") from None
    profiles = data.pop("profiles", {}) if isinstance(data, dict) else {}
    _check_keys(data, f"cluster profile {path}")
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise LaunchError(f'cluster profile {path}: "profiles" must map names to objects of resources')
    if name is None:
        return data
    if name not in profiles:
        defined = ", ".join(sorted(profiles)) or 'none (add a "profiles" object)'
        raise LaunchError(f"cluster profile {name!r} is not in {path}; defined: {defined}")
    _check_keys(profiles[name], f"cluster profile {path}, profile {name!r}")
    return {**data, **profiles[name]}


def load_resources(flags: dict, profile: str | None = None, min_gpus: int = 0,
                   why: str = "") -> Resources:
    """Resources from flags (None = not given), then $TOOLKIT_<FIELD>, the profile, defaults.

    `profile` names an entry of the profile file's "profiles" (else $TOOLKIT_PROFILE, else only
    its top level). `min_gpus` is what the job needs (1 when it will use CUDA, `why` says so): it
    raises a profile's or the default GPU count, and an explicit --gpus/$TOOLKIT_GPUS below it is
    refused, since the job would fail on the node."""
    profile_values = _profile(profile)
    values, explicit = {}, set()
    for f in dataclasses.fields(Resources):
        variable = env_var(f.name)
        env = os.environ.get(variable) if variable else None
        if flags.get(f.name) is not None:
            values[f.name] = flags[f.name]
            explicit.add(f.name)
        elif env is not None:
            try:
                values[f.name] = type(f.default)(env)
            except ValueError:
                raise LaunchError(f"${variable}={env!r} is not a valid "
                                  f"{type(f.default).__name__}") from None
            explicit.add(f.name)
        elif f.name in profile_values:
            value = profile_values[f.name]
            if isinstance(f.default, tuple):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise LaunchError(f'cluster profile: "{f.name}" must be a list of strings')
                value = tuple(value)
            values[f.name] = value
    if "gpus" in explicit and values["gpus"] < min_gpus:
        raise LaunchError(f"--gpus {values['gpus']} (or $TOOLKIT_GPUS) but {why}: ask for at least "
                          f"{min_gpus} GPU, or run it on the CPU with device=cpu")
    if "gpus" not in explicit:
        values["gpus"] = max(values.get("gpus", 0), min_gpus)
    return Resources(**values)


def gpu_reason(tasks: list) -> str:
    """Why tasks (with .job, .cfg) need a GPU, "" if they do not: device=cuda, or a job module
    that says `USES_GPU = True` (one that always runs on the GPU)."""
    for t in tasks:
        if t.cfg.device == "cuda":
            return f"{t.cfg.name} uses device=cuda"
        if getattr(job_module(t.job), "USES_GPU", False):
            return f"{t.job} runs on the GPU"
    return ""


def resources_for(tasks: list, flags: dict, profile: str | None) -> Resources:
    """Flags > $TOOLKIT_* > profile > what the tasks need (1 GPU when they use CUDA) > defaults."""
    why = gpu_reason(tasks)
    return load_resources(flags, profile=profile, min_gpus=1 if why else 0, why=why)


def announce(res: Resources, partition: str, tasks: list, stream) -> None:
    """The one line saying what will be asked of Slurm, printed before anything is submitted."""
    why = gpu_reason(tasks)
    print(f"[launch] resources: {describe(res, partition)}" + (f" (GPU: {why})" if why and res.gpus else ""),
          file=stream, flush=True)


def describe(res: Resources, partition: str) -> str:
    """One line: what the job will ask Slurm for."""
    extra = "".join(f" {k}={getattr(res, k)}" for k in ("account", "qos", "constraint") if getattr(res, k))
    extra += "".join(f" {option}" for option in res.sbatch_options)
    return (f"partition={partition or '(cluster default)'} gpus={res.gpus} cpus={res.cpus} "
            f"mem={res.mem_gb:g}G time={res.time_min}min{extra}")


def slurm_command(*args: str) -> str:
    """Run a Slurm client command; LaunchError with its message when it fails."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise LaunchError(f"{args[0]} not found: is this a Slurm login node?") from None
    if out.returncode != 0:
        raise LaunchError(f"`{' '.join(args)}` failed: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def require_sbatch() -> None:
    """LaunchError unless `sbatch` is on PATH (i.e. this is a machine that can submit)."""
    if shutil.which("sbatch") is None:
        raise LaunchError("sbatch not found on PATH: submit from the cluster's login node, "
                          "or run here with --executor inline or --executor local")


def gres_gpus(gres: str) -> int:
    """GPUs in a `sinfo %G` string such as `gpu:2` or `gpu:a100:4(S:0-1),tmpdisk:100`."""
    return sum(int(m) for m in re.findall(r"(?:^|,)gpu(?::[^:,(]+)?:(\d+)", gres))


def check_cluster(res: Resources) -> str:
    """Refuse (LaunchError) a partition that does not exist or a job no node can hold.

    Returns the partition the job will go to (the default one when none was asked for)."""
    require_sbatch()
    parts = {}
    for line in slurm_command("sinfo", "-h", "-o", "%P").split():
        parts[line.rstrip("*")] = line.endswith("*")
    partition = res.partition or next((p for p, default in parts.items() if default), "")
    if partition not in parts:
        asked = f"partition {res.partition!r} does not exist" if res.partition else \
            "the cluster has no default partition"
        raise LaunchError(f"{asked}; choose one of: {', '.join(parts)} (--partition)")
    nodes = []
    for line in slurm_command("sinfo", "-h", "-N", "-p", partition, "-o", "%N|%c|%m|%G").splitlines():
        name, cpus, mem_mb, gres = line.split("|")
        nodes.append((name, int(cpus.rstrip("+")), int(mem_mb.rstrip("+")), gres_gpus(gres)))
    cpus = res.cpus * res.tasks_per_node   # --cpus is per task; a node runs tasks_per_node of them
    fits = [n for n in nodes if n[1] >= cpus and n[2] >= res.mem_gb * 1024 and n[3] >= res.gpus]
    if not fits:
        biggest = ", ".join(f"{n}: {c} CPUs {m / 1024:.1f} GB {g} GPUs" for n, c, m, g in
                            sorted(set(nodes), key=lambda n: n[1:], reverse=True)[:3])
        raise LaunchError(f"no node of partition {partition} has {cpus} CPUs, {res.mem_gb:g} GB "
                          f"and {res.gpus} GPUs (largest: {biggest}); lower --cpus/--mem-gb/--gpus/--tasks-per-node")
    return partition


def check_shared(paths: dict[str, Path | None], allow_local: bool) -> None:
    """Refuse folders compute nodes cannot see (node-local /tmp and the like), all in one error.

    `paths` maps what a folder is for (e.g. "runs root (--runs-root)") to it; None is skipped."""
    problems = []
    for what, path in paths.items():
        if path is None:
            continue
        real = Path(path).expanduser().resolve()
        local = [p for p in NODE_LOCAL if real == Path(p) or Path(p) in real.parents]
        if local:
            problems.append(f"{what} {real} is under {local[0]}")
    if problems and not allow_local:
        raise LaunchError(f"{'; '.join(problems)}: compute nodes do not share "
                          f"{'it' if len(problems) == 1 else 'these'}; use folders on the shared "
                          f"filesystem, or --allow-local-runs-root on a single-node cluster")


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
