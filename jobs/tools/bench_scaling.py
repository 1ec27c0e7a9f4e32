"""`bench train --tasks K`: data-parallel scaling efficiency of the real trainer (gpt.distributed).

    python main.py bench train --model gpt-nano --block-size 64 --batch-size 16 --tasks 2 --device cpu
    python main.py bench train --preset gpt2-124m --device cuda --tasks 4      # one GPU per rank

Weak scaling: every rank keeps the per-rank batch (--batch-size), so K ranks train a K times larger
global batch. The same bench runs twice under torchrun on this machine, with 1 rank and with K
(each rank gets the same CPU threads: cores // K, so one rank is a fair "one device"), and
efficiency = tokens/s with K ranks / (K x tokens/s with 1). Figures are the trainer's own
steady-state ms/step (warm-up window excluded), read from rank 0.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from gpt import distributed
from gpt.trainer import train
from jobs.tools.bench_setup import model_and_batch, random_tokens, run_config

REPO = Path(__file__).resolve().parents[2]
MARK = "[bench-rank0] "   # the line of rank 0's figures in the worker's output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: argparse.Namespace, ranks: int, threads: int) -> dict:
    """One torchrun of the worker with `ranks` processes; rank 0's figures."""
    from jobs.errors import UserError
    plain = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks),
           "--master_port", str(_free_port()), "-m", "jobs.tools.bench_scaling", json.dumps(plain)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}   # ranks from torchrun
    env.update(OMP_NUM_THREADS=str(threads), PYTHONPATH=str(REPO))
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    lines = [line[len(MARK):] for line in out.stdout.splitlines() if line.startswith(MARK)]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(f"bench train --tasks: the {ranks}-rank run failed: {tail}")
    return json.loads(lines[-1])


def bench_scaling(args: argparse.Namespace) -> dict:
    """Tokens/s with 1 and with args.tasks ranks, and the scaling efficiency."""
    threads = max(1, (os.cpu_count() or 1) // args.tasks)
    one, many = _run(args, 1, threads), _run(args, args.tasks, threads)
    return {**{k: many[k] for k in ("device", "model", "block_size", "batch_per_rank")},
            "threads_per_rank": threads, "steps": args.steps,
            "tokens_per_s_1": one["tokens_per_s"], f"tokens_per_s_{args.tasks}": many["tokens_per_s"],
            "ms_per_step_1": one["ms_per_step"], f"ms_per_step_{args.tasks}": many["ms_per_step"],
            "scaling_efficiency": many["tokens_per_s"] / (args.tasks * one["tokens_per_s"])}


def _worker(args: argparse.Namespace) -> None:
    """One rank under torchrun: the trainer on random tokens with a global batch of W x per-rank."""
    world = distributed.from_env()
    model_cfg, per_rank = model_and_batch(args)
    cfg = run_config(model_cfg, per_rank * world.world_size, args)
    batches = random_tokens(model_cfg, cfg.train.batch_size)
    with tempfile.TemporaryDirectory(prefix=f"bench-rank{world.rank}-") as tmp:
        summary = train(cfg, Path(tmp) / "run", batches)
    if world.is_main:
        ms = summary["ms_per_step"]
        tokens = cfg.train.batch_size * cfg.model.block_size          # the global batch's tokens
        print(MARK + json.dumps({"device": summary["device"], "model": args.preset or args.model,
                                 "block_size": model_cfg.block_size, "batch_per_rank": per_rank,
                                 "ms_per_step": ms, "tokens_per_s": tokens / (ms / 1000)}), flush=True)


if __name__ == "__main__":
    _worker(argparse.Namespace(**json.loads(sys.argv[1])))
