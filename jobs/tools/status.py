"""One row per run: name, Slurm job and state, progress, last validation loss, elapsed, time left,
attempts, log; `--cancel` scancels every job of those runs still queued or running.

    python main.py status                     # every run under $RUNS_ROOT or ./runs
    python main.py status runs/               # every run under a runs root
    python main.py status smoke               # the runs of a sweep (its index file)
    python main.py status smoke --cancel      # cancel the whole sweep (each run saves at a step)
    python main.py status runs/full_run/smoke-1a2b3c4d --json

Read from the run dirs (config.json, metrics.jsonl, summary.json, slurm/jobs.jsonl), plus
`squeue`/`sacct`/`scontrol` when Slurm is there; without Slurm the SLURM column is empty. SLURM
is the job's state, with why it waits when pending (`PENDING(Priority)`); LEFT is a running job's
time left; LOG the job's log file. STATE is what the files say: completed, interrupted (stopped
at a step; resumes when rerun), started, not started.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from gpt import rundir
from jobs.launcher.cluster import JOBS_LOG
from jobs.errors import LaunchError
from jobs.launcher.slurm_jobs import ACTIVE_STATES, cancel_jobs, job_details, log_path

COLUMNS = ("exp", "run", "job", "job_id", "slurm", "state", "step", "val_loss", "elapsed", "left", "attempts",
           "log")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the target (runs root, run dir or sweep name), --runs-root and --json to `p`."""

    p.add_argument("target", nargs="?", default=None,
                   help="a runs root, a run dir, or a sweep name (default: $RUNS_ROOT or ./runs)")
    p.add_argument("--runs-root", type=Path, default=None, help="where to look up a sweep name")
    p.add_argument("--json", action="store_true", help="one JSON object per run instead of a table")
    p.add_argument("--cancel", action="store_true",
                   help="scancel every job of these runs that is still queued or running (a whole sweep: "
                        "status NAME --cancel); each saves at a step and ends CANCELLED, resubmit to resume")


def _runs_root(args) -> Path:
    return rundir.runs_root(args.runs_root).resolve()


def find_runs(target: str | None, runs_root: Path) -> list[dict]:
    """[{"run_dir", "exp", "job"}] for a sweep name, a run dir, or every run under a root."""
    if target and "/" not in target and (runs_root / "sweeps" / target / "index.json").is_file():
        index = rundir.read_json(runs_root / "sweeps" / target / "index.json")
        return [{"run_dir": Path(r["run_dir"]), "exp": r.get("exp"), "job": r.get("job")}
                for r in index["runs"]]
    root = Path(target).expanduser().resolve() if target else runs_root
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is neither a run dir, a runs root nor a sweep under "
                                f"{runs_root}/sweeps; pass --runs-root or a path")
    marks = (rundir.CONFIG, JOBS_LOG)
    if any((root / m).is_file() for m in marks):
        return [{"run_dir": root, "exp": None, "job": root.parent.name}]
    # run dirs sit at <root>/<job>/<run> (a runs root) or <root>/<run> (one job's folder)
    dirs = sorted({p.parents[m.count("/")] for m in marks for depth in ("*/", "*/*/")
                   for p in root.glob(depth + m)} - {root})
    return [{"run_dir": d, "exp": None, "job": d.parent.name} for d in dirs]


def _last(rows: list[dict], kind: str) -> dict:
    return next((r for r in reversed(rows) if r.get("kind") == kind), {})


def run_row(run_dir: Path, exp=None, job=None) -> dict:
    """What the files of one run dir say (the Slurm state is added by `rows`)."""
    metrics = rundir.read_metrics(run_dir / rundir.METRICS)   # rows of sane types only
    jobs = rundir.read_jsonl(run_dir / JOBS_LOG)
    start, last = _last(metrics, "start"), (metrics[-1] if metrics else {})
    steps = [r["step"] for r in metrics if isinstance(r.get("step"), int)]
    if rundir.is_complete(run_dir):
        state = "completed"
    elif last.get("kind") == "stop":
        state = "interrupted"
    elif jobs and jobs[-1].get("kind") == "failed":   # a packed point that exited non-zero (jobs/launcher/pack_worker.py)
        state = f"failed (exit {jobs[-1].get('exit_code')})"
    else:
        state = "started" if metrics or _last(jobs, "start") else "not started"
    elapsed = max((r["elapsed_s"] for r in metrics if "elapsed_s" in r), default=None)
    job_ids = [r["job_id"] for r in jobs if r.get("job_id") and r.get("executor") != "local"]
    job_id = job_ids[-1] if job_ids else ""
    logs = [r["log"] for r in jobs if r.get("job_id") == job_id and isinstance(r.get("log"), str)]
    return {"exp": exp, "run": run_dir.name, "job": job or run_dir.parent.name, "job_id": job_id,
            "slurm": "", "reason": "", "time_left": "", "log": logs[-1] if job_id and logs else "", "state": state,
            "step": steps[-1] if steps else None, "max_steps": start.get("max_iters"),
            "val_loss": _last(metrics, "val").get("loss"), "elapsed": elapsed,
            "attempts": sum(r.get("kind") == "start" for r in metrics),   # starts and resumes
            "run_dir": str(run_dir)}


def _safe_row(run_dir: Path, exp=None, job=None) -> dict:
    """run_row, or a row saying why the run dir cannot be read (it may vanish or change mid-call)."""
    try:
        return run_row(run_dir, exp, job)
    except OSError as exc:
        return {"exp": exp, "run": run_dir.name, "job": job or run_dir.parent.name, "job_id": "",
                "slurm": "", "reason": "", "time_left": "", "log": "",
                "state": f"unreadable ({exc.strerror or exc})", "step": None, "max_steps": None,
                "val_loss": None, "elapsed": None, "attempts": 0, "run_dir": str(run_dir)}


def rows(found: list[dict]) -> list[dict]:
    """One status row per found run, with the Slurm state of its latest job (why it waits, time
    left) and its log (from slurm/jobs.jsonl, else asked of Slurm while it knows the job)."""
    out = [_safe_row(f["run_dir"], f.get("exp"), f.get("job")) for f in found]
    details = job_details([r["job_id"] for r in out])
    for r in out:
        d = details.get(r["job_id"], {})
        r.update(slurm=d.get("state", ""), reason=d.get("reason", "").strip("()"), time_left=d.get("time_left", ""))
        if r["slurm"] and not r["log"]:
            r["log"] = log_path(r["job_id"])
    return out


def _cell(row: dict, col: str) -> str:
    value = row["time_left" if col == "left" else col]
    if col == "slurm" and row["reason"]:
        return f"{value}({row['reason']})"
    if col == "step" and value is not None:
        return f"{value}/{row['max_steps'] or '?'}"
    if col == "val_loss" and value is not None:
        return f"{value:.4f}"
    if col == "elapsed" and value is not None:
        return time.strftime("%H:%M:%S", time.gmtime(value))
    return "-" if value in (None, "") else str(value)


def format_table(table: list[dict]) -> str:
    """`table`'s rows as aligned text columns under a header line."""

    cells = [list(COLUMNS)] + [[_cell(r, c) for c in COLUMNS] for r in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def main(args) -> int:
    """`python main.py status [TARGET]`; exit code 2 when TARGET is not found."""
    try:
        found = find_runs(args.target, _runs_root(args))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = rows(found)
    if args.cancel:
        return _cancel(table)
    if args.json:
        print("\n".join(json.dumps(r) for r in table))
    else:
        print(format_table(table) if table else "no runs found")
    return 0


def _cancel(table: list[dict]) -> int:
    """scancel the rows' jobs that are queued or running; says which, or that there were none."""
    active = [r["job_id"] for r in table if r["slurm"] in ACTIVE_STATES]
    if not active:
        print(f"nothing to cancel: no job of these {len(table)} run(s) is queued or running")
        return 0
    problem = cancel_jobs(active)
    if problem:
        raise LaunchError(f"scancel {' '.join(active)} failed: {problem}")
    print(f"cancelled {len(active)} job(s): {' '.join(active)}; each saves at a step boundary and ends "
          "CANCELLED; resubmit the same command to resume")
    return 0
