"""Executors. Minimal inline version; the Slurm work extends it with local and slurm executors."""
from __future__ import annotations

import argparse
import importlib

from gpt.config import RunConfig
from jobs import JOBS
from jobs.context import JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("inline",), default="inline",
                        help="inline: run in this process")


def execute(job: str, cfgs: list[RunConfig], ctx: JobContext, args: argparse.Namespace) -> int:
    module = importlib.import_module(JOBS[job])
    for cfg in cfgs:
        summary = module.run(cfg, ctx)
        print(f"{job} {cfg.name}: {summary.get('status')} -> {summary.get('run_dir', '')}", flush=True)
        if summary.get("status") != "completed":
            return 3
    return 0
