"""Length generalisation: val loss and perplexity of a run's best weights at several context lengths.

    result = evaluate_lengths(run_dir)                 # T/2, T, 2T, 4T -> eval/lengths.json
    result = evaluate_lengths(run_dir, [64, 128, 256], max_tokens=65536, out="lengths-64k.json")

Each length L is scored on non-overlapping val windows of L tokens (the same first max_tokens
tokens of the val split at every length), every position of a window counting. Positions that
cannot run past the training length (learned position embeddings, or any model whose
GPTConfig.max_context is set) are evaluated only up to block_size: longer lengths are listed as
skipped with the reason. An LSTM has no length limit. Writes `<run>/eval/lengths.json` (or `out`
under eval/): {"kind": "lengths", "block_size", "max_context", "note", "rows": [{"length", "loss",
"ppl", "windows", "tokens"} or {"length", "skipped"}]}. The attention_ablation job writes it with
the defaults and the report's length figure reads it, so a file written with other lengths or
max_tokens is never replaced unless asked (`overwrite`). The `eval_lengths` tool
(jobs/tools/eval_lengths.py) is the command line over this.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch

from gpt import rundir
from gpt.batches import TokenStream
from jobs.errors import UserError
from jobs.run_model import load_run_model

FILE = rundir.LENGTHS   # the default --out
DEFAULT_MAX_TOKENS = 32768


def default_lengths(block_size: int) -> list[int]:
    """T/2, T, 2T and 4T of a run trained at T (the 2T value feeds the report's column)."""
    return sorted({max(1, block_size // 2), block_size, 2 * block_size, 4 * block_size})


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
    a finished run (the tool does). UserError if eval/<out> holds other settings and not
    `overwrite`.
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
    refuse_to_replace(run_dir / rundir.EVAL / out, overwrite, f"lengths {planned}, max_tokens {max_tokens}",
                      lambda old: f"lengths {sorted(r['length'] for r in old['rows'])}, "
                                  f"max_tokens {old.get('max_tokens')}")
    for n in planned:
        rows.append(_score(model, val, n, max_tokens, batch_size) if n in kept else
                    {"length": n, "skipped": f"longer than max_context {limit}"})
    result = {"kind": "lengths", "block_size": cfg.model.block_size, "max_context": limit,
              "checkpoint": "best", "max_tokens": max_tokens, "note": note, "rows": rows}
    rundir.write_json(run_dir / rundir.EVAL / out, result)
    return result


def refuse_to_replace(path: Path, overwrite: bool, wanted: str, settings: Callable[[dict], str]) -> None:
    """UserError if `path` holds an evaluation whose `settings(old content)` are not `wanted`
    (unless `overwrite`): the report's figures and the ablation table read eval/*.json."""
    if overwrite or not path.is_file():
        return
    try:
        held = settings(rundir.read_json(path))
    except (ValueError, KeyError, TypeError, AttributeError):
        held = "something this tool cannot read"
    if held != wanted:
        raise UserError(f"{path} already holds {held}, which the report reads; pass --out "
                        "NAME.json to write elsewhere, or --overwrite to replace it")
