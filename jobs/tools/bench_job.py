"""`main.py bench job`: time a whole training job as a user runs it, and print where the time goes.

    python main.py bench job full_run --preset smoke
    python main.py bench job full_run --preset shakespeare_char train.max_iters=400 --repeat 3

Each repeat starts `python main.py JOB ...` in a fresh process on a throw-away runs root (the data
cache is the usual one, so data load is what a rerun pays), measures the wall time from outside
and reads the phases the process timed itself (gpt/phases.py, written at exit). The split:
start-up (interpreter, imports, parser, config: until the first phase), data load, train loop
(the trainer minus its evaluations and checkpoint writes), eval, checkpoints, plots, sampling
(loading best.pt and generating), writes (tokenizer, env.json, samples files), other (launcher
glue between phases, the summary) and exit (interpreter shutdown).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gpt import phases, rundir
from gpt.config import preset_name
from jobs import JOBS, job_module
from jobs.errors import UserError

MAIN = Path(__file__).resolve().parents[2] / "main.py"
ROWS = ("start-up", "data load", "train loop", "eval", "checkpoints", "plots", "sampling", "writes",
        "other", "exit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `bench job`: the job, its preset and overrides, repeats, data folders."""
    parser.add_argument("job", choices=sorted(JOBS), help="the training job to time")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="config overrides passed to the job, e.g. train.max_iters=400")
    parser.add_argument("--preset", default="default", help="the job's preset (default: default)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs in a row, each a fresh process and run dir; the median is printed too")
    parser.add_argument("--data-root", type=Path, default=None, help="raw corpora (default: $DATA_ROOT)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="prepared arrays (default: the job's usual $DATA_CACHE or ./.cache/data)")
    parser.add_argument("--json", action="store_true", help="print the splits as JSON instead of a table")


def split(wall_start: float, wall_end: float, record: dict) -> dict[str, float]:
    """Seconds per row of ROWS from the outside clock and the process's own phases.snapshot()."""
    s = record["seconds"]
    first = record["first_phase_at"] or record["at"]
    top = {"data load": s.get("data", 0.0), "train loop": s.get("train", 0.0),   # phases are exclusive
           "eval": s.get("eval", 0.0), "checkpoints": s.get("checkpoints", 0.0),
           "plots": s.get("plots", 0.0), "sampling": s.get("sampling", 0.0),
           "writes": s.get("writes", 0.0)}
    return {"start-up": first - wall_start, **top,
            "other": (record["at"] - first) - sum(top.values()),
            "exit": wall_end - record["at"], "total": wall_end - wall_start}


def time_job(args: argparse.Namespace, runs_root: Path, phase_file: Path) -> tuple[dict, dict]:
    """One run of the job in a fresh process: (split, the run's summary.json)."""
    cmd = [sys.executable, str(MAIN), args.job, "--preset", args.preset, "--runs-root", str(runs_root),
           *(["--data-root", str(args.data_root)] if args.data_root else []),
           *(["--cache-dir", str(args.cache_dir)] if args.cache_dir else []), *args.overrides]
    env = {**os.environ, phases.ENV: str(phase_file)}
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    end = time.time()
    if proc.returncode != 0 or not phase_file.exists():
        tail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise UserError(f"bench job: `main.py {args.job}` exited {proc.returncode}: {tail}")
    summaries = sorted(runs_root.glob(f"{args.job}/*/{rundir.SUMMARY}"))
    summary = rundir.read_json(summaries[0]) if summaries else {}
    return split(start, end, json.loads(phase_file.read_text())), summary


def _table(splits: list[dict], summaries: list[dict], args: argparse.Namespace) -> str:
    steps = summaries[0].get("steps", "?")
    lines = [f"{args.job} --preset {args.preset} {' '.join(args.overrides)}".rstrip(),
             f"{steps} steps, load average {os.getloadavg()[0]:.2f} at the end"]
    median = len(splits) > 1
    head = "".join(f"{'run ' + str(i + 1):>9}" for i in range(len(splits))) + (f"{'median':>9}" if median else "")
    lines.append(f"{'phase (s)':<12}{head}{'share':>8}")
    for row in (*ROWS, "total"):
        values = [sp[row] for sp in splits]
        mid = statistics.median(values)
        total = statistics.median(sp["total"] for sp in splits)
        cells = "".join(f"{v:>9.2f}" for v in values) + (f"{mid:>9.2f}" if median else "")
        lines.append(f"{row:<12}{cells}{100 * mid / total:>7.1f}%")
    ms = [s["ms_per_step"] for s in summaries if s.get("ms_per_step")]
    if ms:
        lines.append(f"trainer ms/step (median of its windows): {', '.join(f'{m:.1f}' for m in ms)}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    """Run the job --repeat times and print the split per run (and the median)."""
    if args.repeat < 1:
        raise UserError(f"bench job --repeat={args.repeat} must be >= 1")
    presets = job_module(args.job).PRESETS
    args.preset = preset_name(args.preset, presets)
    if args.preset not in presets:
        raise UserError(f"bench job: {args.job} has no preset {args.preset!r}; presets: {', '.join(presets)}")
    splits, summaries = [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
            sp, summary = time_job(args, Path(tmp) / "runs", Path(tmp) / "phases.json")
        splits.append(sp)
        summaries.append(summary)
    if args.json:
        print(json.dumps({"job": args.job, "preset": args.preset, "overrides": args.overrides,
                          "splits": splits, "ms_per_step": [s.get("ms_per_step") for s in summaries]},
                         indent=2))
    else:
        print(_table(splits, summaries, args))
