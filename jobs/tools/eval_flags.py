"""The flags and checks the evaluation tools share (eval_lengths, eval_causal): which run, how
many val tokens, where the corpora are, which device, and the eval/ file the result goes to."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from gpt import rundir
from jobs.context import DATA_ROOT_HELP
from jobs.errors import UserError


def add_arguments(parser: argparse.ArgumentParser, *, run_help: str, file: str, max_tokens: int,
                  max_tokens_help: str, overwrite_help: str) -> None:
    """--run-dir, --max-tokens, --data-root, --cache-dir, --device, --out (default `file`) and --overwrite."""
    parser.add_argument("--run-dir", type=Path, required=True, help=run_help)
    parser.add_argument("--max-tokens", type=int, default=max_tokens,
                        help=f"{max_tokens_help} (default: %(default)s)")
    parser.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $DATA_CACHE or ./.cache/data")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--out", default=file,
                        help="file name under <run>/eval/ (default: %(default)s, which the report reads)")
    parser.add_argument("--overwrite", action="store_true", help=overwrite_help)


def checked_where(args: argparse.Namespace, *counts: str) -> dict:
    """UserError for a count flag below 1 (--max-tokens and `counts`, attribute names), an --out
    that is no plain .json name, or a run dir without summary.json; else the evaluation's
    data_root, cache_dir and device keywords."""
    from data import default_cache_dir
    for name in ("max_tokens", *counts):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} {getattr(args, name)} must be at least 1")
    if Path(args.out).name != args.out or not args.out.endswith(".json") or args.out.startswith("."):
        raise UserError(f"--out {args.out!r}: give a plain file name ending in .json (written under <run>/eval/)")
    if not rundir.is_complete(args.run_dir):
        raise UserError(f"{args.run_dir} is not a finished run (no {rundir.SUMMARY}); wait for it or rerun it")
    return {"data_root": args.data_root or os.environ.get("DATA_ROOT"),
            "cache_dir": args.cache_dir or default_cache_dir(), "device": args.device}
