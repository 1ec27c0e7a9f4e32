"""The logit-bias puzzle of JHU hw5 §2 on a trained run: full distribution from a top-2 API.

    python main.py logit_bias --run-dir runs/full_run/smoke-1a2b3c4d --prompt "ROMEO:"
    python main.py logit_bias --run-dir RUN --prompt "ROMEO:" --top-p 0.9 --max-new-tokens 20

Wraps the run's best weights as an API that returns only the top-2 next-token probabilities
after an optional logit bias (gpt/logit_bias.py explains the algorithm), recovers the full
next-token distribution after the prompt, and prints the calls used (at most |V| + 1), the max
abs error against the model's true softmax, and a top-p sample drawn only from recovered
distributions (each new token costs another recovery). GPT runs only; the prompt is cropped to the
model's context limit (block_size for learned positions or bounded mixers).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from gpt import rundir
from gpt.logit_bias import TopTwoAPI, recover_distribution, top_p_filter
from jobs.errors import UserError
from jobs.run_model import load_run_model


@torch.no_grad()
def next_token_logits(model, ids: list[int]) -> np.ndarray:
    """Float64 logits (V,) of the token after `ids`, cropped to the model's `max_context` (its
    block_size; the whole context for position schemes and mixers that run at any length)."""
    limit = model.cfg.max_context
    idx = torch.tensor([ids[-limit:] if limit else ids], dtype=torch.long,
                       device=next(model.parameters()).device)
    logits, _ = model(idx)                                           # (1, T, V)
    return logits[0, -1].double().cpu().numpy()


def load_gpt_run(run_dir: Path):
    """(model, tokenizer, cfg) of a finished GPT run; UserError for an LSTM or unfinished run."""
    if not rundir.is_complete(Path(run_dir)):
        raise UserError(f"{run_dir} is not a finished run (no {rundir.SUMMARY}); wait for it or rerun it")
    model, tokenizer, cfg = load_run_model(run_dir, "best", "cpu")
    if cfg.model.arch != "gpt":
        raise UserError(f"{run_dir} is an {cfg.model.arch} run; logit_bias wraps GPT runs (the "
                        "attention lab's models): pass a GPT run dir")
    return model, tokenizer, cfg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the tool's options (--run-dir, --prompt, --top-p, ...) to `parser`."""
    parser.add_argument("--run-dir", type=Path, required=True, help="a finished GPT run dir")
    parser.add_argument("--prompt", required=True, help="text whose next token is recovered")
    parser.add_argument("--top-p", type=float, default=0.9, help="nucleus for the sample (default: %(default)s)")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="tokens sampled (default: %(default)s)")
    parser.add_argument("--max-bias", type=float, default=100.0, help="the API's bias limit (OpenAI: 100)")
    parser.add_argument("--seed", type=int, default=0)


def main(args: argparse.Namespace) -> int:
    """Recover, compare with the true softmax, sample; prints the figures."""
    if not args.prompt:
        raise UserError("--prompt is empty; give the text whose next-token distribution to recover")
    if not 0 < args.top_p <= 1 or args.max_new_tokens < 1 or args.max_bias <= 0:
        raise UserError("--top-p must be in (0, 1], --max-new-tokens >= 1 and --max-bias > 0")
    model, tokenizer, cfg = load_gpt_run(args.run_dir)
    try:
        ids = tokenizer.encode(args.prompt)
    except ValueError as exc:
        raise UserError(f"prompt {args.prompt!r}: {exc}") from None
    rng = np.random.default_rng(args.seed)
    vocab, total_calls, worst, out = cfg.model.vocab_size, 0, 0.0, []
    for step in range(args.max_new_tokens):
        logits = next_token_logits(model, ids)
        api = TopTwoAPI(logits, max_bias=args.max_bias)
        recovered, calls = recover_distribution(api)
        true = np.exp(logits - logits.max())
        error = float(np.abs(recovered - true / true.sum()).max())
        if step == 0:
            print(f"vocabulary |V| = {vocab}; calls used for the first token: {calls} (limit |V|+1 = {vocab + 1})")
            print(f"max abs error vs the model's softmax: {error:.3e}")
        total_calls, worst = total_calls + calls, max(worst, error)
        token = int(rng.choice(vocab, p=top_p_filter(recovered, args.top_p)))
        ids.append(token)
        out.append(token)
    print(f"{args.max_new_tokens} token(s) sampled with top-p {args.top_p}: {total_calls} calls in "
          f"all, max abs error {worst:.3e}")
    print(f"sample: {args.prompt + tokenizer.decode(out)!r}")
    return 0
