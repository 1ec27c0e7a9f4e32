"""What a kill loop (scripts/kill_loop.py) compares, and its figures: the train/val rows of every
metrics.jsonl (the last row written per (kind, step), as readers keep it) and every summary.json
and eval/*.json of a killed run against the uninterrupted run's, wall-clock fields left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# fields that measure the machine, not the computation: they differ between any two runs
WALL_CLOCK = {"time", "ms_per_step", "tokens_per_s", "elapsed_s", "mfu_pct", "wall_s", "attempts",
              "gpu_mem_allocated_mb", "gpu_mem_reserved_mb", "gpu_mem_peak_allocated_mb",
              "seconds", "eval_s", "wall_time_s", "run_dir", "runs_root"}
ROW_KINDS = ("train", "val")


@dataclass
class Outcome:
    """What one loop did: kills delivered, attempts, rows and files compared/equal, failures."""
    job: str
    kills: int = 0              # SIGKILLs that cut work short (before the job's last summary.json)
    late_kills: int = 0         # SIGKILLs after it: only the exit path was hit
    outrun_kills: int = 0       # kills whose attempt finished before they fired (a fast machine)
    attempts: int = 0
    rows_compared: int = 0
    rows_equal: int = 0
    files_compared: int = 0
    files_equal: int = 0
    fault_exit_s: list[float] = field(default_factory=list)   # --victim one: time to exit
    done_at_kill: list[int] = field(default_factory=list)     # summary.json files (finished runs
    #                                                           or stages) present at each kill
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every row and file equal, at least one row, no failed attempt."""
        return (not self.failures and self.rows_compared > 0 and self.rows_equal == self.rows_compared
                and self.files_equal == self.files_compared)

    def line(self) -> str:
        """The one-line figure the closing note quotes."""
        fault = f" worst_exit_after_fault_s={max(self.fault_exit_s):.1f}" if self.fault_exit_s else ""
        return (f"job={self.job} kills={self.kills} late_kills={self.late_kills} "
                f"outrun_kills={self.outrun_kills} attempts={self.attempts} rows_compared="
                f"{self.rows_compared} rows_equal={self.rows_equal} files_compared={self.files_compared} "
                f"files_equal={self.files_equal}{fault} finished_runs_at_kills="
                f"{','.join(map(str, self.done_at_kill)) or '-'} result={'PASS' if self.ok else 'FAIL'}"
                + "".join(f"\n  failure: {f}" for f in self.failures))


def _rows(path: Path) -> dict[tuple[str, int], dict]:
    """(kind, step) -> the last train/val row written for it, wall-clock fields left out."""
    rows = {}
    for raw in path.read_bytes().splitlines():
        try:
            row = json.loads(raw)
        except ValueError:
            continue                      # a line a kill cut short: readers skip it too
        if isinstance(row, dict) and row.get("kind") in ROW_KINDS:
            rows[(row["kind"], row["step"])] = {k: v for k, v in row.items() if k not in WALL_CLOCK}
    return rows


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in WALL_CLOCK}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    if isinstance(obj, str) and "/" in obj:
        return obj.split("/")[-1]         # a path: the two runs roots differ, the names must not
    return obj


def compare(straight: Path, killed: Path, out: Outcome) -> None:
    """Count equal metrics rows and result files of the killed run against the reference."""
    for metrics in sorted(straight.rglob("metrics.jsonl")):
        other = killed / metrics.relative_to(straight)
        ref, got = _rows(metrics), (_rows(other) if other.is_file() else {})
        out.rows_compared += len(ref)
        out.rows_equal += sum(got.get(key) == row for key, row in ref.items())
        for key in sorted(k for k in ref if got.get(k) != ref[k])[:3]:
            out.failures.append(f"{other}: {key} differs: {ref[key]} vs {got.get(key)}")
    files = [*straight.rglob("summary.json"), *straight.rglob("eval/*.json")]
    for path in sorted(files):
        other = killed / path.relative_to(straight)
        out.files_compared += 1
        same = other.is_file() and _strip(json.loads(path.read_text())) == _strip(json.loads(other.read_text()))
        out.files_equal += same
        if not same:
            out.failures.append(f"{other} differs from the uninterrupted run's")
