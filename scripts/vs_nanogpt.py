"""The toolkit's whole CPU job against nanoGPT's, alternating in one session (docs/cpu_speed.md).

    python scripts/vs_nanogpt.py --nanogpt ~/src/nanoGPT --iters 400 --pairs 3

Each pair runs, one after the other: `main.py full_run --preset shakespeare_char` at nanoGPT's
README CPU recipe (4 layers, 4 heads, 128 dims, block 64, batch 12, dropout 0, eval_iters 20,
log_interval 1), then nanoGPT's `train.py` with the same settings, then nanoGPT's `sample.py` for
the samples the toolkit's job also writes (6 samples of 300 characters). It prints, per pair, wall
and CPU seconds of each process (CPU: user + sys of the child, the robust figure on a shared
machine), the median ms/step of each trainer's own log, and the ratios; then the medians.

The nanoGPT checkout needs its char data prepared once: copy corpora/tinyshakespeare/input.txt to
its data/shakespeare_char/ and run `python data/shakespeare_char/prepare.py` there (sample.py also
needs the tiktoken package). Threads: torch's default unless --threads sets OMP_NUM_THREADS.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0}


def _commands(iters: int, runs_root: Path) -> dict[str, list[str]]:
    model = [f"model.{k}={v}" for k, v in RECIPE.items()]
    ours = [sys.executable, str(REPO / "main.py"), "full_run", "--preset", "shakespeare_char", *model,
            "train.batch_size=12", "train.eval_iters=20", f"train.max_iters={iters}", "train.log_interval=1",
            "--runs-root", str(runs_root)]
    train = [sys.executable, "train.py", "config/train_shakespeare_char.py", "--device=cpu", "--compile=False",
             "--eval_iters=20", "--log_interval=1", "--batch_size=12", *(f"--{k}={v}" for k, v in RECIPE.items()),
             f"--max_iters={iters}", f"--lr_decay_iters={iters}"]
    sample = [sys.executable, "sample.py", "--out_dir=out-shakespeare-char", "--device=cpu",
              "--num_samples=6", "--max_new_tokens=300"]
    return {"toolkit": ours, "train.py": train, "sample.py": sample}


def _fail(message: str) -> None:
    """One line on stderr and exit 2, the toolkit's code for input it cannot use."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, its output); a failed command stops the comparison."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        _fail(f"`{' '.join(cmd[1:4])} ...` exited {proc.returncode}: "
              f"{(proc.stderr.strip().splitlines() or [''])[-1]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, proc.stdout


def _median_ms(values: list[float]) -> float:
    return statistics.median(sorted(values)[5:] or values)   # the slowest few hold evals and warm-up


def main() -> None:
    """Run the pairs and print each one and the medians."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nanogpt", type=Path, required=True, help="a nanoGPT checkout (its train.py, sample.py)")
    ap.add_argument("--iters", type=int, default=400, help="training iterations of both (default 400)")
    ap.add_argument("--pairs", type=int, default=3, help="alternations (default 3)")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for both (default: torch's)")
    args = ap.parse_args()
    ng = args.nanogpt.expanduser()
    if not (ng / "train.py").is_file() or not (ng / "data/shakespeare_char/train.bin").is_file():
        _fail(f"{ng} is not a nanoGPT checkout with data/shakespeare_char prepared; see "
              "`python scripts/vs_nanogpt.py --help`")
    if args.iters < 251 or args.pairs < 1:   # sample.py reads the checkpoint train.py writes at 250
        _fail("--iters must be >= 251 (nanoGPT writes its checkpoint at the step-250 eval) and --pairs >= 1")
    if args.threads is not None and args.threads < 1:
        _fail(f"--threads {args.threads} must be >= 1 (leave it out for torch's default)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        runs_root = Path(scratch) / "runs"
        cmds = _commands(args.iters, runs_root)
        for k in range(args.pairs):
            shutil.rmtree(runs_root, ignore_errors=True)
            shutil.rmtree(ng / "out-shakespeare-char", ignore_errors=True)
            ours = _timed(cmds["toolkit"], REPO, env)
            metrics = next(runs_root.glob("full_run/*/metrics.jsonl")).read_text().splitlines()
            ours_ms = _median_ms([r["ms_per_step"] for r in map(json.loads, metrics) if r["kind"] == "train"])
            train, sample = _timed(cmds["train.py"], ng, env), _timed(cmds["sample.py"], ng, env)
            theirs_ms = _median_ms([float(m) for m in re.findall(r"time ([\d.]+)ms", train[2])])
            row = {"wall": ours[0] / train[0], "cpu": ours[1] / train[1], "step": theirs_ms / ours_ms,
                   "wall+sample": ours[0] / (train[0] + sample[0]), "cpu+sample": ours[1] / (train[1] + sample[1])}
            rows.append(row)
            print(f"pair {k + 1}: toolkit {ours[0]:.1f} s wall / {ours[1]:.1f} s CPU, {ours_ms:.1f} ms/step | "
                  f"train.py {train[0]:.1f} / {train[1]:.1f}, {theirs_ms:.1f} ms/step | sample.py "
                  f"{sample[0]:.1f} / {sample[1]:.1f} | toolkit over train.py: wall {row['wall']:.3f}, CPU "
                  f"{row['cpu']:.3f}; step speed {row['step']:.3f}; over train.py + sample.py: wall "
                  f"{row['wall+sample']:.3f}, CPU {row['cpu+sample']:.3f}", flush=True)
    print("medians: " + ", ".join(f"{key} {statistics.median(r[key] for r in rows):.3f}" for key in rows[0]))


if __name__ == "__main__":
    main()
