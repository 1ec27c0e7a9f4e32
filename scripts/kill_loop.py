"""Kill -9 loops: SIGKILL a command at random times, rerun it until it completes, then compare its
metrics.jsonl rows bit for bit with an uninterrupted run of the same command.

    python scripts/kill_loop.py --job classify-gpt --kills 12 --seed 0 -- \\
        python main.py classify --preset smoke --runs-root {runs_root}
    python scripts/kill_loop.py --job ddp-2 --kills 6 --victim worker -- \\
        python -m torch.distributed.run --nproc_per_node 2 --master_port {port} main.py full_run \\
        --preset smoke --runs-root {runs_root}

The command runs in its own process group, first once to the end under WORK/straight (the
reference; its wall time W), then under WORK/killed: each attempt gets SIGKILL after a delay drawn
(seeded) from [--min-delay-s, --max-delay-s or 0.6 W], then the same command runs again, until --kills
kills were delivered; the last attempt runs to the end (an attempt that ends before its kill ends
the loop, with fewer kills: shorten the delays). `{runs_root}` is replaced by the runs root
of the run, `{port}` by a free TCP port per attempt (torchrun's rendezvous).
--victim group kills the whole process group (a node lost); --victim worker kills one random
process of the group other than its leader (one torchrun rank lost): the rest of the group must
then exit by itself within --fault-bound-s, else the attempt counts as hung (the loop fails).

Compared: every (kind, step) train/val row of every metrics.jsonl of the reference (the last row
written per step, as readers keep it) with the killed run's, all fields except wall-clock ones
(time, ms/step, tokens/s, elapsed, MFU, memory); and every summary.json and eval/*.json, less the
same fields and the attempt count. Exit 0 when every row and file is equal and every kill landed.
Attempt logs: WORK/logs/. Prints one line per job: job, kills, rows compared, rows equal.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# fields that measure the machine, not the computation: they differ between any two runs
WALL_CLOCK = {"time", "ms_per_step", "tokens_per_s", "elapsed_s", "mfu_pct", "wall_s", "attempts",
              "gpu_mem_allocated_mb", "gpu_mem_reserved_mb", "gpu_mem_peak_allocated_mb",
              "seconds", "wall_time_s", "run_dir", "runs_root"}
ROW_KINDS = ("train", "val")


@dataclass
class Outcome:
    """What one loop did: kills delivered, attempts, rows and files compared/equal, failures."""
    job: str
    kills: int = 0
    attempts: int = 0
    rows_compared: int = 0
    rows_equal: int = 0
    files_compared: int = 0
    files_equal: int = 0
    fault_exit_s: list[float] = field(default_factory=list)   # --victim worker: time to exit
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every row and file equal, at least one row, no failed attempt."""
        return (not self.failures and self.rows_compared > 0 and self.rows_equal == self.rows_compared
                and self.files_equal == self.files_compared)

    def line(self) -> str:
        """The one-line figure the closing note quotes."""
        fault = f" worst_exit_after_fault_s={max(self.fault_exit_s):.1f}" if self.fault_exit_s else ""
        return (f"job={self.job} kills={self.kills} attempts={self.attempts} rows_compared="
                f"{self.rows_compared} rows_equal={self.rows_equal} files_compared={self.files_compared} "
                f"files_equal={self.files_equal}{fault} result={'PASS' if self.ok else 'FAIL'}"
                + "".join(f"\n  failure: {f}" for f in self.failures))


def free_port() -> int:
    """A TCP port nobody listens on now (a fresh one per attempt: the killed one may linger)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _argv(command: list[str], runs_root: Path) -> list[str]:
    port = str(free_port())
    return [a.replace("{runs_root}", str(runs_root)).replace("{port}", port) for a in command]


def _start(command: list[str], runs_root: Path, log: Path, env: dict | None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:    # the child keeps its own copy of the descriptor
        return subprocess.Popen(_argv(command, runs_root), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)


def _group_members(pgid: int) -> list[int]:
    """Pids in process group `pgid` other than its leader (torchrun's workers), from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pgid:
            continue
        try:
            # fields after the command name (which may hold spaces): state ppid pgrp ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


def run_straight(command: list[str], runs_root: Path, log: Path, timeout_s: float,
                 env: dict | None = None) -> float:
    """Run the command once to the end; its wall time in seconds (RuntimeError if it failed)."""
    start = time.monotonic()
    proc = _start(command, runs_root, log, env)
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise RuntimeError(f"the uninterrupted run took over {timeout_s} s; see {log}") from None
    if code != 0:
        raise RuntimeError(f"the uninterrupted run exited {code}: {_tail(log)} (log {log})")
    return time.monotonic() - start


def kill_loop(command: list[str], runs_root: Path, logs: Path, out: Outcome, kills: int,
              delays: tuple[float, float], seed: int, timeout_s: float, victim: str = "group",
              fault_bound_s: float = 60.0, env: dict | None = None) -> None:
    """Start, SIGKILL after a seeded random delay, restart, `kills` times; then run to the end."""
    rng = random.Random(seed)
    while True:
        log = logs / f"attempt-{out.attempts:03d}.log"
        proc = _start(command, runs_root, log, env)
        out.attempts += 1
        delay = rng.uniform(*delays) if out.kills < kills else timeout_s
        try:
            code = proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            code = None
        if code is None and out.kills < kills:
            _deliver(proc, victim, fault_bound_s, out, log)
            out.kills += 1
            continue
        if code is None:
            _kill_group(proc)
            out.failures.append(f"attempt {out.attempts} ran past {timeout_s} s (log {log})")
            return
        if code == 0:
            return
        out.failures.append(f"attempt {out.attempts} exited {code} without a kill: {_tail(log)} (log {log})")
        return


def _deliver(proc: subprocess.Popen, victim: str, fault_bound_s: float, out: Outcome, log: Path) -> None:
    """SIGKILL the group, or one worker of it and time how long the rest takes to exit."""
    workers = _group_members(proc.pid) if victim == "worker" else []
    if not workers:
        _kill_group(proc)
        return
    os.kill(random.Random(proc.pid).choice(workers), signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        proc.wait(timeout=fault_bound_s)
    except subprocess.TimeoutExpired:
        out.failures.append(f"attempt {out.attempts}: the rest of the group still ran {fault_bound_s} s "
                            f"after one worker was killed (log {log})")
        _kill_group(proc)
        return
    out.fault_exit_s.append(time.monotonic() - killed_at)
    _kill_group(proc)          # reap anything left in the group (nothing, normally)


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


def run_job(job: str, command: list[str], work: Path, kills: int, seed: int = 0, min_delay_s: float = 0.5,
            max_delay_s: float | None = None, timeout_s: float = 600, victim: str = "group",
            fault_bound_s: float = 60.0, env: dict | None = None) -> Outcome:
    """The whole loop for one job: reference run, kill loop, comparison."""
    out = Outcome(job)
    wall_s = run_straight(command, work / "straight", work / "logs" / "straight.log", timeout_s, env)
    # most of an attempt's time is startup; a delay near the full wall time would often let it finish
    hi = max_delay_s if max_delay_s is not None else max(0.6 * wall_s, min_delay_s + 0.1)
    kill_loop(command, work / "killed", work / "logs", out, kills, (min_delay_s, hi), seed, timeout_s,
              victim, fault_bound_s, env)
    if not out.failures:
        compare(work / "straight", work / "killed", out)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: one job's loop; prints its figures line; exit 0 when everything matched."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--job", default="job", help="label of the job in the figures line")
    p.add_argument("--kills", type=int, default=10, help="SIGKILLs to deliver before the final attempt")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill delays")
    p.add_argument("--min-delay-s", type=float, default=0.5, help="shortest delay before a kill")
    p.add_argument("--max-delay-s", type=float, default=None,
                   help="longest delay before a kill (default: 0.6 x the uninterrupted run's wall time)")
    p.add_argument("--timeout-s", type=float, default=900, help="limit for one attempt")
    p.add_argument("--victim", choices=("group", "worker"), default="group",
                   help="kill the whole process group, or one process of it other than the leader")
    p.add_argument("--fault-bound-s", type=float, default=60.0,
                   help="--victim worker: the rest of the group must exit within this many seconds")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temp dir)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command, with {runs_root}")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not any("{runs_root}" in a for a in command):
        p.error("give the command after --, with {runs_root} where its runs root goes")
    if args.kills < 0 or args.min_delay_s <= 0 or (args.max_delay_s is not None and args.max_delay_s < args.min_delay_s):
        p.error("--kills must be >= 0 and 0 < --min-delay-s <= --max-delay-s")
    work = args.work or Path(tempfile.mkdtemp(prefix="kill_loop_"))
    if (work / "straight").exists() or (work / "killed").exists():
        p.error(f"--work {work} already holds a loop's runs; pass an empty or new folder")
    try:
        out = run_job(args.job, command, work, args.kills, args.seed, args.min_delay_s, args.max_delay_s,
                      args.timeout_s, args.victim, args.fault_bound_s)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(out.line(), flush=True)
    return 0 if out.ok else 1


if __name__ == "__main__":
    sys.exit(main())
