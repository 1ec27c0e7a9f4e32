"""Sample from a trained run.

    python main.py sample --run-dir runs/full_run/smoke-1a2b3c4d --prompt "ROMEO:" --temperature 0.8

Loads config.json, tokenizer.json and checkpoints/best.pt (or last.pt) of the run dir, with
jobs/run_model.py, whose sample_texts/write_samples training jobs write samples/ with too.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from jobs.errors import UserError
from jobs.run_model import load_run_model, sample_texts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `sample` flags: run dir, prompts, temperatures, top-k/top-p, length, checkpoint, device."""
    parser.add_argument("--run-dir", type=Path, required=True, help="a run dir under runs/<job>/")
    parser.add_argument("--prompt", action="append", default=None,
                        help="text to continue (repeat for several); default: the run's own prompts")
    parser.add_argument("--temperature", type=float, action="append", default=None,
                        help="0 = greedy; repeat for several (default: the run's sample.temperatures)")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--top-k", type=int, default=None, help="0 = off")
    parser.add_argument("--top-p", type=float, default=None, help="1.0 = off")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--seed", type=int, default=0, help="sampling seed in [0, 2**32) (default: 0)")


def check_arguments(args: argparse.Namespace) -> None:
    """UserError naming the flag for a value the sampler cannot use (before loading anything)."""
    problems = []
    if args.max_new_tokens is not None and args.max_new_tokens <= 0:
        problems.append(f"--max-new-tokens {args.max_new_tokens} must be >= 1")
    for t in args.temperature or ():
        if not (t >= 0 and math.isfinite(t)):
            problems.append(f"--temperature {t} must be a finite number >= 0 (0 = greedy)")
    if args.top_k is not None and args.top_k < 0:
        problems.append(f"--top-k {args.top_k} must be >= 0 (0 = off)")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        problems.append(f"--top-p {args.top_p} must be in (0, 1] (1 = off)")
    if not 0 <= args.seed < 2**32:
        problems.append(f"--seed {args.seed} must be in [0, 2**32)")
    if problems:
        raise UserError("; ".join(problems))


def main(args: argparse.Namespace) -> int:
    """Sample from a run dir as the flags say and print each sample; exit code 0."""
    check_arguments(args)
    model, tokenizer, cfg = load_run_model(args.run_dir, args.checkpoint, args.device)
    s = cfg.sample
    prompts = args.prompt if args.prompt is not None else list(s.prompts)
    for prompt in prompts:
        try:
            tokenizer.encode(prompt)
        except ValueError as exc:
            raise UserError(f"prompt {prompt!r}: {exc}") from None
    rows = sample_texts(model, tokenizer, prompts, args.temperature or list(s.temperatures),
                        s.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens,
                        s.top_k if args.top_k is None else args.top_k,
                        s.top_p if args.top_p is None else args.top_p,
                        args.seed, next(model.parameters()).device)
    for r in rows:
        print(f"--- prompt {r['prompt']!r} | temperature {r['temperature']} ---")
        print(r["prompt"] + r["text"])
    return 0

