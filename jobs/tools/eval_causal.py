"""Leak-free val loss of a finished run (each position from its prefix only) and a future-leak probe.

    python main.py eval_causal --run-dir runs/attention_ablation/abl-1a2b3c4d
    python main.py eval_causal --run-dir RUN --max-tokens 8192 --out causal-8k.json

Scores the run's best weights as jobs/causal_eval.py says (the attention_ablation job does the
same before its summary.json) and writes `<run>/eval/causal.json`, which the report's ablation
table reads: a file scored on another number of tokens is never replaced (--out NAME.json, or
--overwrite).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gpt import rundir
from jobs.causal_eval import DEFAULT_MAX_TOKENS, FILE, evaluate_causal
from jobs.tools import eval_flags


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the tool's options (--run-dir, --max-tokens, --data-root, ...) to `parser`."""
    eval_flags.add_arguments(parser, run_help="a finished GPT run dir", file=FILE, max_tokens=DEFAULT_MAX_TOKENS,
                             max_tokens_help="val tokens scored, from the start of the split",
                             overwrite_help="replace eval/<out> even if it was scored on another --max-tokens")


def main(args: argparse.Namespace) -> int:
    """Print the leak-free and the whole-window loss, the leak probe, and where causal.json went."""
    where = eval_flags.checked_where(args)
    r = evaluate_causal(args.run_dir, args.max_tokens, out=args.out, overwrite=args.overwrite, **where)
    print(f"leak-free val loss {r['loss']:.4f} (ppl {r['ppl']:.2f}); whole-window val loss "
          f"{r['window_loss']:.4f} (ppl {r['window_ppl']:.2f}); {r['windows']} windows of {r['block_size']}")
    print(f"future leak: max logit change {r['future_leak']:.2e} -> "
          f"{'SEES THE FUTURE' if r['sees_future'] else 'causal'}")
    print(f"wrote {Path(args.run_dir) / rundir.EVAL / args.out}")
    return 0
