"""When to pack (README "Packing small runs"): K gpt-nano smoke runs at once vs one after another.

    python scripts/pack_timing.py --k 3 --iters 100 --rounds 2

Each run is its own process, as a packed array task starts them (OMP_NUM_THREADS=1 each, fresh
runs roots, distinct seeds); the two ways alternate round by round, so the machine's load hits
both alike. Prints each round's wall seconds, the sequential/concurrent ratio and the load average.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _start(root: Path, seed: int, iters: int) -> subprocess.Popen:
    args = [sys.executable, "main.py", "full_run", "--preset", "smoke", f"seed={seed}", f"train.max_iters={iters}",
            "--runs-root", str(root)]
    return subprocess.Popen(args, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(k: int, iters: int, concurrent: bool, root: Path) -> float:
    """Wall seconds of k runs, all at once or in turn; raises if one fails."""
    t0 = time.perf_counter()
    if concurrent:
        procs = [_start(root / f"c{i}", i, iters) for i in range(k)]
    else:
        procs = []
        for i in range(k):
            procs.append(_start(root / f"s{i}", i, iters))
            procs[-1].wait()
    if any(p.wait() for p in procs):
        raise SystemExit("error: a timing run failed; run it by hand: python main.py full_run --preset smoke")
    return time.perf_counter() - t0


def main() -> None:
    """Alternate sequential and concurrent rounds; print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=3, help="runs per pack")
    p.add_argument("--iters", type=int, default=100, help="train.max_iters of each run")
    p.add_argument("--rounds", type=int, default=2, help="sequential+concurrent pairs")
    a = p.parse_args()
    if min(a.k, a.iters, a.rounds) < 1:
        p.error("--k, --iters and --rounds must be at least 1")
    print(f"cpus {os.cpu_count()}, load average before {os.getloadavg()[0]:.2f}")
    seq, conc = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            seq.append(timed(a.k, a.iters, False, Path(tmp) / f"r{r}"))
            conc.append(timed(a.k, a.iters, True, Path(tmp) / f"r{r}"))
            print(f"round {r}: sequential {seq[-1]:.1f} s, concurrent {conc[-1]:.1f} s, "
                  f"ratio {seq[-1] / conc[-1]:.2f}, load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"K={a.k}, {a.iters} iters: sequential/concurrent = {sum(seq) / sum(conc):.2f} "
          f"(sum over {a.rounds} rounds)")


if __name__ == "__main__":
    main()
