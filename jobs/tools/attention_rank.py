"""attention_rank: how low-rank are a trained run's attention maps? (JHU hw5 §4.3)

    python main.py full_run --preset smoke model.attention=explicit      # any softmax-attention run
    python main.py attention_rank --run-dir runs/full_run/smoke-XXXXXXXX --ks 1,2,4,8,16

Evaluates the run's best weights on its val split with every attention map replaced by its
rank-k SVD approximation (re-masked causally; see gpt/attention/rank.py), for each k, and the
effective rank of the maps per layer and head ("entropy": exp of the entropy of the normalised
singular values; "energy90": singular values needed for 90% of the squared Frobenius norm).
Writes <run>/eval/attention_rank.json and prints a table. Needs a finished GPT run whose
model.attention is fused or explicit.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import data
from gpt import rundir
from gpt.attention.rank import map_ranks, rank_k_losses
from gpt.config_model import SOFTMAX_ATTENTIONS
from gpt.overrides import from_dict
from jobs.errors import UserError
from jobs.run_model import load_run_model

RESULT = rundir.ATTENTION_RANK


def parse_ks(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]; UserError unless every k is a positive integer."""
    try:
        ks = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UserError(f"--ks {text!r}: expected positive integers separated by commas, e.g. 1,2,4,8") from None
    if not ks or any(k <= 0 for k in ks):
        raise UserError(f"--ks {text!r}: expected positive integers separated by commas, e.g. 1,2,4,8")
    return sorted(set(ks))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the tool's options (--run-dir, --ks, --batches, --batch-size) to `p`."""

    p.add_argument("--run-dir", type=Path, required=True, help="a finished GPT run dir")
    p.add_argument("--ks", default="1,2,4,8,16", help="ranks to try, comma-separated (default: %(default)s)")
    p.add_argument("--batches", type=int, default=4, help="val batches to evaluate (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per batch (default: %(default)s)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    p.add_argument("--data-root", type=Path, default=None,
                   help="raw corpora (default: $DATA_ROOT; also searched: ~/.cache/slm-toolkit/data, where "
                        "missing ones are downloaded, and the repository's corpora/)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="prepared arrays and tokenizers (default: $DATA_CACHE or ./.cache/data)")


def _check_run(run_dir: Path) -> None:
    """One-line errors for what this tool cannot analyse, before loading any weights."""
    if not (run_dir / rundir.CONFIG).is_file():
        raise UserError(f"{run_dir} is not a run dir (no {rundir.CONFIG}); pass a folder under runs/<job>/")
    try:
        cfg = from_dict(rundir.read_json(run_dir / rundir.CONFIG))
    except ValueError as exc:
        raise UserError(f"{run_dir}/{rundir.CONFIG}: {exc}") from None
    if cfg.model.arch != "gpt":
        raise UserError(f"{run_dir} is a {cfg.model.arch} run: attention_rank needs a GPT run")
    if cfg.model.attention not in SOFTMAX_ATTENTIONS:
        raise UserError(f"{run_dir} uses model.attention={cfg.model.attention}, which has no softmax "
                        f"attention maps; attention_rank needs model.attention among: "
                        f"{', '.join(SOFTMAX_ATTENTIONS)}")
    if not rundir.is_complete(run_dir):
        raise UserError(f"{run_dir} has not finished (no {rundir.SUMMARY}); let it complete first "
                        "(rerun its command to resume it)")


def main(args: argparse.Namespace) -> int:
    """Score the run with rank-k attention maps for each k; print the table; exit status."""

    run_dir = Path(args.run_dir).expanduser()
    ks = parse_ks(args.ks)
    if args.batches <= 0 or args.batch_size <= 0:
        raise UserError("--batches and --batch-size must be positive")
    _check_run(run_dir)
    model, _, cfg = load_run_model(run_dir, "best", args.device)
    corpus = data.load(cfg.data, cfg.model.block_size, args.data_root,
                       (args.cache_dir or data.default_cache_dir()).resolve())
    losses = rank_k_losses(model, corpus.batches, ks, args.batch_size, args.batches)
    ranks = map_ranks(model, corpus.batches, args.batch_size, args.batches)
    result = {"kind": "attention_rank", "split": "val", "batches": args.batches,
              "batch_size": args.batch_size, "T": ranks["T"], "full_val_loss": losses["full"],
              "rank_k": [{"k": k, "val_loss": loss, "val_ppl": math.exp(loss),
                          "delta_loss": loss - losses["full"]} for k, loss in losses["rank_k"].items()],
              "effective_rank": {"entropy": ranks["entropy"], "energy90": ranks["energy90"],
                                 "definitions": {
                                     "entropy": "exp(H(p)), p_i = s_i / sum(s) over singular values",
                                     "energy90": "fewest singular values holding 90% of sum(s^2)"}},
              "remasked": True}
    out = run_dir / rundir.EVAL / RESULT
    rundir.write_json(out, result)
    print(f"val loss with rank-k attention maps (T={ranks['T']}, full model {losses['full']:.4f}):")
    print(f"{'k':>6}  {'val_loss':>9}  {'delta':>8}")
    for row in result["rank_k"]:
        print(f"{row['k']:>6}  {row['val_loss']:>9.4f}  {row['delta_loss']:>+8.4f}")
    print("effective rank per layer (mean over heads): entropy | energy90")
    for i, (e, c) in enumerate(zip(ranks["entropy"], ranks["energy90"])):
        print(f"  layer {i}: {sum(e) / len(e):6.2f} | {sum(c) / len(c):6.2f}")
    print(f"wrote {out}")
    return 0
