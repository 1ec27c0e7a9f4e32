"""Kill -9 loops: SIGKILL a command at random times, rerun it until it completes, then compare its
metrics.jsonl rows bit for bit with an uninterrupted run of the same command.

    python scripts/kill_loop.py --job classify-gpt --kills 12 --seed 0 -- \\
        python main.py classify --preset smoke --runs-root {runs_root}
    python scripts/kill_loop.py --job ddp-2 --kills 6 --victim one -- \\
        python -m torch.distributed.run --nproc_per_node 2 --master_port {port} main.py full_run \\
        --preset smoke --runs-root {runs_root}

The command runs in its own session, first once to the end (the reference, kept in WORK/straight:
F seconds to its first metrics row, R metrics rows in all), then again (kept in WORK/killed), SIGKILLed
--kills times, each attempt rerun with the same command. A kill is timed by progress, so that it
lands where intended on a busy machine: a share (--startup-share) fires a random delay up to F
after the start (startup: lock, config check, resume), the rest a random jitter (--jitter-s)
after the killed run's metrics reach a random row count up to 0.8 R (training, evaluation, checkpoint
writes, stage changes); all drawn from --seed. Kill i of N draws its row count from the i-th of N
equal bands of [1, 0.8 R], so that an early kill leaves rows for the later ones. The last attempt
runs to the end. A kill that lands after the job's last summary.json cut no work short: it is
counted apart, as late, and ends the killing; so does one whose attempt finished before it fired
(outrun: a toy job's last rows can come faster than the jitter). `{runs_root}` is replaced by the runs root of the run, `{port}` by a free TCP port per attempt.
--victim all kills the command and every process below it (a node lost); --victim one kills
one random process below the command (one torchrun rank lost): the rest must then exit by itself
within --fault-bound-s, else the attempt counts as hung (the loop fails).

Compared: every (kind, step) train/val row of every metrics.jsonl of the reference (the last row
written per step, as readers keep it) with the killed run's, all fields except wall-clock ones
(time, ms/step, tokens/s, elapsed, MFU, memory); and every summary.json and eval/*.json, less the
same fields and the attempt count. Exit 0 when every row and file is equal and no attempt failed.
Attempt logs: WORK/logs/. Prints one line per job: job, kills, rows compared, rows equal.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kill_loop_compare import Outcome, compare  # scripts/, beside this file


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


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live process, from /proc (zombies left out)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the fields after the command name (which may hold spaces): state ppid ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`. torchrun starts each rank in a session of its own, so a
    process-group kill would leave the ranks running: a lost node is the whole tree."""
    parents, found, frontier = _parents(), [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return sorted(found)


def _kill_tree(proc: subprocess.Popen, pids: list[int] | None = None) -> None:
    """SIGKILL the command and everything below it (collected first: orphans get a new parent)."""
    for pid in [proc.pid, *(descendants(proc.pid) if pids is None else pids)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


def count_rows(runs_root: Path) -> int:
    """Lines in every metrics.jsonl under `runs_root`: the progress a kill is timed by."""
    total = 0
    for path in runs_root.rglob("metrics.jsonl"):
        try:
            total += path.read_bytes().count(b"\n")
        except OSError:
            pass
    return total


def run_straight(command: list[str], runs_root: Path, log: Path, timeout_s: float,
                 env: dict | None = None) -> tuple[float, int]:
    """Run the command once to the end: (seconds until its first metrics row, rows written);
    RuntimeError if it failed."""
    start = time.monotonic()
    proc, first_row_s = _start(command, runs_root, log, env), None
    while proc.poll() is None:
        now = time.monotonic() - start
        if now > timeout_s:
            _kill_tree(proc)
            raise RuntimeError(f"the uninterrupted run took over {timeout_s} s; see {log}")
        if first_row_s is None and count_rows(runs_root):
            first_row_s = now
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"the uninterrupted run exited {proc.returncode}: {_tail(log)} (log {log})")
    return (time.monotonic() - start if first_row_s is None else first_row_s), count_rows(runs_root)


@dataclass(frozen=True)
class Timing:
    """When each kill fires: in the startup (a delay up to the reference's first-row time), or
    a jitter after the killed run's metrics reach a row count drawn up to 0.8 of the reference's
    (later, the jitter alone would often let a toy run finish before the kill)."""
    startup_share: float
    first_row_s: float
    total_rows: int
    jitter_s: float

    def draw(self, rng: random.Random, rows_now: int, kill: int, kills: int) -> tuple[float, int]:
        """(seconds to wait after the trigger, rows that trigger it: 0 = at the start) for kill
        number `kill` (from 0) of `kills`: its rows come from the kill-th of `kills` bands."""
        if rng.random() < self.startup_share:
            return rng.uniform(0.1, max(0.2, self.first_row_s)), 0
        span = 0.8 * self.total_rows
        first = max(rows_now + 1, int(span * kill / kills))
        last = max(first, int(span * (kill + 1) / kills))
        return rng.uniform(0, self.jitter_s), rng.randint(first, last)


def _wait(proc: subprocess.Popen, runs_root: Path, trigger: tuple[float, int] | None,
          timeout_s: float) -> int | None:
    """The exit code, or None once the trigger fired (or the attempt ran past timeout_s)."""
    start, fired_at = time.monotonic(), None
    while proc.poll() is None:
        now = time.monotonic()
        if now - start > timeout_s:
            return None
        if trigger is not None and fired_at is None and count_rows(runs_root) >= trigger[1]:
            fired_at = now
        if fired_at is not None and now - fired_at >= trigger[0]:
            return None
        time.sleep(0.01)
    return proc.returncode


def _finished(runs_root: Path, reference: Path) -> bool:
    """Every summary.json of the reference is in `runs_root` too (the job has nothing left to train)."""
    want = {p.relative_to(reference) for p in reference.rglob("summary.json")}
    return all((runs_root / p).is_file() for p in want)


def kill_loop(command: list[str], runs_root: Path, logs: Path, out: Outcome, kills: int,
              timing: Timing, seed: int, timeout_s: float, reference: Path,
              victim: str = "all", fault_bound_s: float = 60.0, env: dict | None = None) -> None:
    """Start, SIGKILL when the seeded trigger fires, restart, `kills` times; then run to the end.
    A kill after the job's last summary is counted apart (late_kills) and ends the killing; a kill
    the attempt outran (it exited 0 first) is counted as outrun_kills."""
    rng = random.Random(seed)
    while True:
        log = logs / f"attempt-{out.attempts:03d}.log"
        killing = out.kills < kills and not out.late_kills
        trigger = timing.draw(rng, count_rows(runs_root), out.kills, kills) if killing else None
        proc = _start(command, runs_root, log, env)
        out.attempts += 1
        code = _wait(proc, runs_root, trigger, timeout_s)
        if code is None and killing:
            _deliver(proc, victim, fault_bound_s, out, log)
            out.done_at_kill.append(sum(1 for _ in runs_root.rglob("summary.json")))
            if _finished(runs_root, reference):
                out.late_kills += 1        # landed after the last summary: no work was cut short
            else:
                out.kills += 1
            continue
        if code == 0 and killing:
            out.outrun_kills += 1          # finished before its kill fired: nothing left to cut
        if code is None:
            _kill_tree(proc)
            out.failures.append(f"attempt {out.attempts} ran past {timeout_s} s (log {log})")
        elif code != 0:
            out.failures.append(f"attempt {out.attempts} exited {code} without a kill: {_tail(log)} (log {log})")
        return


def _deliver(proc: subprocess.Popen, victim: str, fault_bound_s: float, out: Outcome, log: Path) -> None:
    """SIGKILL the whole tree, or one process below the command (a rank) and time how long the
    rest takes to exit by itself."""
    workers = descendants(proc.pid)
    ranks = [pid for pid, parent in _parents().items() if parent == proc.pid]   # torchrun's children
    if victim == "all" or not ranks:
        _kill_tree(proc, workers)
        return
    os.kill(random.Random(proc.pid).choice(ranks), signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        proc.wait(timeout=fault_bound_s)
    except subprocess.TimeoutExpired:
        out.failures.append(f"attempt {out.attempts}: the rest still ran {fault_bound_s} s "
                            f"after one process was killed (log {log})")
        _kill_tree(proc)
        return
    out.fault_exit_s.append(time.monotonic() - killed_at)
    _kill_tree(proc, workers)  # anything the launcher left behind (nothing, normally)


def run_job(job: str, command: list[str], work: Path, kills: int, seed: int = 0, startup_share: float = 0.2,
            jitter_s: float = 0.3, timeout_s: float = 600, victim: str = "all", fault_bound_s: float = 60.0,
            env: dict | None = None) -> Outcome:
    """The whole loop for one job: reference run, kill loop, comparison. Both run in WORK/runs
    (then renamed to straight/ and killed/): run-dir paths are inside configs (a stage's
    init_from), so another runs root would hash other run dirs."""
    out, runs = Outcome(job), work / "runs"
    first_s, rows = run_straight(command, runs, work / "logs" / "straight.log", timeout_s, env)
    runs.rename(work / "straight")
    try:
        kill_loop(command, runs, work / "logs", out, kills, Timing(startup_share, first_s, rows, jitter_s),
                  seed, timeout_s, work / "straight", victim, fault_bound_s, env)
    finally:
        if runs.exists():
            runs.rename(work / "killed")
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
    p.add_argument("--startup-share", type=float, default=0.2,
                   help="share of the kills timed into the startup, before any metrics row (default 0.2)")
    p.add_argument("--jitter-s", type=float, default=0.3,
                   help="a training kill fires up to this many seconds after its row count is reached")
    p.add_argument("--timeout-s", type=float, default=900, help="limit for one attempt")
    p.add_argument("--victim", choices=("all", "one"), default="all",
                   help="kill the command's whole process tree, or one process below the command (a rank)")
    p.add_argument("--fault-bound-s", type=float, default=60.0,
                   help="--victim one: the rest must exit within this many seconds")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temp dir)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command, with {runs_root}")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not any("{runs_root}" in a for a in command):
        p.error("give the command after --, with {runs_root} where its runs root goes")
    if args.kills < 0 or not 0 <= args.startup_share <= 1 or args.jitter_s < 0:
        p.error("--kills and --jitter-s must be >= 0, --startup-share in [0, 1]")
    work = args.work or Path(tempfile.mkdtemp(prefix="kill_loop_"))
    if any((work / name).exists() for name in ("runs", "straight", "killed")):
        p.error(f"--work {work} already holds a loop's runs; pass an empty or new folder")
    try:
        out = run_job(args.job, command, work, args.kills, args.seed, args.startup_share, args.jitter_s,
                      args.timeout_s, args.victim, args.fault_bound_s)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(out.line(), flush=True)
    return 0 if out.ok else 1


if __name__ == "__main__":
    sys.exit(main())
