"""Report speed on synthetic runs: `python -m reports.bench --runs 200`.

Writes `--runs` completed run dirs (about 100 train and 10 val rows each, in sweeps of
`--sweep-size`) into a temp folder, builds the report twice and prints both wall times; the
second build should reuse nearly every output. Not a test: timings depend on the machine, and
wall time on a shared one depends on its load, so CPU seconds are printed too.
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from reports.build import build_report
from reports.synthetic import write_sweep


def bench(n_runs: int, sweep_size: int, n_train: int, n_val: int, keep: Path | None) -> list[float]:
    """Seconds taken by a first and a second report build over `n_runs` synthetic runs."""
    with tempfile.TemporaryDirectory(prefix="reports-bench-") as tmp:
        root = keep or Path(tmp)
        runs_root, out_dir = root / "runs", root / "report"
        for k in range(math.ceil(n_runs / sweep_size)):
            write_sweep(runs_root, min(sweep_size, n_runs - k * sweep_size), f"sweep{k:03d}",
                        n_train, n_val)
        seconds = []
        for attempt in ("first", "second"):
            lines = []
            start, cpu_start = time.perf_counter(), _cpu_s()
            build_report([runs_root], out_dir, log=lines.append)
            seconds.append(time.perf_counter() - start)
            print(f"{attempt} build: {seconds[-1]:.1f} s wall, {_cpu_s() - cpu_start:.1f} s CPU "
                  f"(all processes) for {n_runs} runs; {lines[-1]}")
        return seconds


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the drawing workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    """Build a report twice over `--runs` synthetic run dirs and print both times (wall and CPU)."""
    parser = argparse.ArgumentParser(prog="python -m reports.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="synthetic runs to create (default 200)")
    parser.add_argument("--sweep-size", type=int, default=12, help="runs per sweep group (default 12)")
    parser.add_argument("--train-rows", type=int, default=100, help="train rows per run (default 100)")
    parser.add_argument("--val-rows", type=int, default=10, help="val rows per run (default 10)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write runs and report here instead of a temp folder that is deleted")
    args = parser.parse_args(argv)
    bench(args.runs, args.sweep_size, args.train_rows, args.val_rows, args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
