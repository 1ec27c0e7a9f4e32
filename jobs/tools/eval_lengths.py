"""Length generalisation: val loss and perplexity of a finished run at several context lengths.

    python main.py eval_lengths --run-dir runs/full_run/smoke-1a2b3c4d                # T/2, T, 2T, 4T
    python main.py eval_lengths --run-dir RUN --lengths 64,128,256,512 --max-tokens 65536

Each length L is scored on non-overlapping val windows of L tokens (the same first
--max-tokens tokens of the val split at every length), every position of a window counting,
with the run's best weights. Positions that cannot run past the training length (learned
position embeddings, or any model whose GPTConfig.max_context is set) are evaluated only up to
block_size: longer lengths are listed as skipped with the reason. An LSTM has no length limit.
Writes `<run>/eval/lengths.json` (or `--out NAME` under eval/): {"kind": "lengths", "block_size",
"max_context", "note", "rows": [{"length", "loss", "ppl", "windows", "tokens"} or {"length",
"skipped"}]}. The attention_ablation job writes lengths.json with the defaults and the report's
length figure reads it, so the tool never replaces a file that was written with other lengths or
--max-tokens: it refuses in one line (pass --out other.json, or --overwrite to replace it).
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import torch

from gpt import rundir
from gpt.batches import TokenStream
from jobs.errors import UserError
from jobs.tools.sample import load_run_model

FILE = "lengths.json"
DEFAULT_MAX_TOKENS = 32768


def default_lengths(block_size: int) -> list[int]:
    """T/2, T, 2T and 4T of a run trained at T (the 2T value feeds the report's column)."""
    return sorted({max(1, block_size // 2), block_size, 2 * block_size, 4 * block_size})


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


@torch.no_grad()
def _score(model, val_tokens, length: int, max_tokens: int, batch_size: int) -> dict:
    """Mean NLL over windows of `length` tokens from the first `max_tokens` val tokens."""
    stream = TokenStream({"val": val_tokens[: max_tokens + 1]}, length)
    device = next(model.parameters()).device
    total, count, windows = 0.0, 0, 0
    for x, y, _ in stream.eval_batches("val", batch_size, 0):
        _, loss = model(x.to(device), y.to(device))               # x, y (B, L)
        total += float(loss) * y.numel()
        count += y.numel()
        windows += y.size(0)
    loss = total / count
    return {"length": length, "loss": loss, "ppl": math.exp(min(loss, 50)), "windows": windows,
            "tokens": count}


def val_tokens(cfg, data_root, cache_dir):
    """The val split's token array of a run's corpus; UserError for an example-based corpus."""
    import data
    corpus = data.load(cfg.data, cfg.model.block_size, data_root, cache_dir)
    if not isinstance(corpus.batches, TokenStream):
        raise UserError(f"eval_lengths needs a token-stream corpus; {cfg.data.dataset} is made of "
                        "fixed-length examples")
    return corpus.batches.tokens["val"]


def evaluate_lengths(run_dir: Path, lengths: list[int] | None = None, max_tokens: int = DEFAULT_MAX_TOKENS,
                     batch_size: int = 8, data_root=None, cache_dir=None, device: str = "cpu",
                     out: str = FILE, overwrite: bool = False) -> dict:
    """Score `run_dir` (its best weights) at each length, write eval/<out> and return its content.

    Called by the attention_ablation job before its summary.json exists, so it does not ask for
    a finished run (the tool's `main` does). UserError if eval/<out> holds other settings and
    not `overwrite`.
    """
    run_dir = Path(run_dir)
    model, _, cfg = load_run_model(run_dir, "best", device)
    lengths = lengths or default_lengths(cfg.model.block_size)
    limit = cfg.model.max_context   # None: any length (LSTM, positions that extrapolate)
    rows, note = [], ""
    kept = [n for n in lengths if limit is None or n <= limit]
    if limit is not None and len(kept) < len(lengths):
        kept = sorted(set(kept) | {limit})
        why = ("learned position embeddings" if getattr(cfg.model, "pos_embedding", "") == "learned"
               else f"model.attention={cfg.model.attention} has parameters per position")
        note = (f"cannot extrapolate ({why}): evaluated up to block_size {limit}; "
                f"{', '.join(str(n) for n in lengths if n > limit)} skipped")
    val = val_tokens(cfg, data_root, cache_dir)
    if max(kept) + 2 > len(val):
        raise UserError(f"length {max(kept)} needs more than the {len(val)} val tokens; pick shorter --lengths")
    max_tokens = max(max_tokens, max(kept) + 1)   # at least one window at every length
    planned = sorted(set(lengths) | set(kept))
    check_target(run_dir / rundir.EVAL / out, planned, max_tokens, overwrite)
    for n in planned:
        rows.append(_score(model, val, n, max_tokens, batch_size) if n in kept else
                    {"length": n, "skipped": f"longer than max_context {limit}"})
    result = {"kind": "lengths", "block_size": cfg.model.block_size, "max_context": limit,
              "checkpoint": "best", "max_tokens": max_tokens, "note": note, "rows": rows}
    rundir.write_json(run_dir / rundir.EVAL / out, result)
    return result


def check_target(path: Path, lengths: list[int], max_tokens: int, overwrite: bool) -> None:
    """UserError if `path` holds a length evaluation with other lengths or max_tokens (unless
    `overwrite`): the report's figure and the ablation table read eval/lengths.json."""
    if overwrite or not path.is_file():
        return
    try:
        old = rundir.read_json(path)
        held = f"lengths {sorted(r['length'] for r in old['rows'])}, max_tokens {old.get('max_tokens')}"
    except (ValueError, KeyError, TypeError):
        held = "something this tool cannot read"
    if held != f"lengths {lengths}, max_tokens {max_tokens}":
        raise UserError(f"{path} already holds {held}, which the report reads; pass --out "
                        "NAME.json to write elsewhere, or --overwrite to replace it")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the tool's options (--run-dir, --lengths, --max-tokens, ...) to `parser`."""
    parser.add_argument("--run-dir", type=Path, required=True, help="a finished run dir (GPT or LSTM)")
    parser.add_argument("--lengths", default=None,
                        help="comma list of context lengths (default: T/2,T,2T,4T of the run's block_size)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help="val tokens scored at each length (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="raw corpora (default: $DATA_ROOT; also searched: ~/.cache/slm-toolkit/data, where "
                             "missing ones are downloaded, and the repository's corpora/)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $DATA_CACHE or ./.cache/data")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--out", default=FILE,
                        help="file name under <run>/eval/ (default: %(default)s, which the report reads)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace eval/<out> even if it was written with other lengths or --max-tokens")


def main(args: argparse.Namespace) -> int:
    """Print one line per length and where lengths.json went."""
    from data import default_cache_dir
    if args.max_tokens < 1 or args.batch_size < 1:
        raise UserError("--max-tokens and --batch-size must be at least 1")
    lengths = parse_lengths(args.lengths) if args.lengths is not None else None
    out = Path(args.out)
    if out.name != args.out or out.suffix != ".json" or args.out.startswith("."):
        raise UserError(f"--out {args.out!r}: give a plain file name ending in .json (written under <run>/eval/)")
    if not rundir.is_complete(args.run_dir):
        raise UserError(f"{args.run_dir} is not a finished run (no {rundir.SUMMARY}); wait for it or rerun it")
    result = evaluate_lengths(args.run_dir, lengths, args.max_tokens, args.batch_size,
                              args.data_root or os.environ.get("DATA_ROOT"),
                              args.cache_dir or default_cache_dir(), args.device, args.out,
                              args.overwrite)
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
