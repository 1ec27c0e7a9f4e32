"""Length generalisation: val loss and perplexity of a finished run at several context lengths.

    python main.py eval_lengths --run-dir runs/full_run/smoke-1a2b3c4d                # T/2, T, 2T, 4T
    python main.py eval_lengths --run-dir RUN --lengths 64,128,256,512 --max-tokens 65536

Scores the run's best weights as jobs/length_eval.py says: each length on non-overlapping val
windows of that many tokens (the same first --max-tokens tokens at every length); lengths past
what the model's positions allow are listed as skipped with the reason. Writes
`<run>/eval/lengths.json` (or `--out NAME` under eval/). The attention_ablation job writes
lengths.json with the defaults and the report's length figure reads it, so the tool never
replaces a file that was written with other lengths or --max-tokens: it refuses in one line
(pass --out other.json, or --overwrite to replace it).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gpt import rundir
from jobs.errors import UserError
from jobs.length_eval import DEFAULT_MAX_TOKENS, FILE, evaluate_lengths
from jobs.tools import eval_flags


def parse_lengths(text: str) -> list[int]:
    """`64,128` -> [64, 128]; UserError for anything but distinct positive integers."""
    try:
        lengths = [int(p) for p in text.split(",")]
    except ValueError:
        raise UserError(f"--lengths {text!r}: expected positive integers separated by commas, "
                        "e.g. --lengths 64,128,256") from None
    if any(n < 1 for n in lengths) or len(set(lengths)) != len(lengths):
        raise UserError(f"--lengths {text!r}: lengths must be positive and distinct")
    return sorted(lengths)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the tool's options (--run-dir, --lengths, --max-tokens, ...) to `parser`."""
    eval_flags.add_arguments(parser, run_help="a finished run dir (GPT or LSTM)", file=FILE,
                             max_tokens=DEFAULT_MAX_TOKENS, max_tokens_help="val tokens scored at each length",
                             overwrite_help="replace eval/<out> even if it was written with other lengths "
                                            "or --max-tokens")
    parser.add_argument("--lengths", default=None,
                        help="comma list of context lengths (default: T/2,T,2T,4T of the run's block_size)")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")


def main(args: argparse.Namespace) -> int:
    """Print one line per length and where lengths.json went."""
    lengths = parse_lengths(args.lengths) if args.lengths is not None else None
    where = eval_flags.checked_where(args, "batch_size")
    result = evaluate_lengths(args.run_dir, lengths, args.max_tokens, args.batch_size, out=args.out,
                              overwrite=args.overwrite, **where)
    for row in result["rows"]:
        if "skipped" in row:
            print(f"length {row['length']:>6}: skipped ({row['skipped']})")
        else:
            print(f"length {row['length']:>6}: val loss {row['loss']:.4f}  ppl {row['ppl']:.2f}  "
                  f"({row['windows']} windows)")
    if result["note"]:
        print(f"note: {result['note']}")
    print(f"wrote {Path(args.run_dir) / rundir.EVAL / args.out}")
    return 0
