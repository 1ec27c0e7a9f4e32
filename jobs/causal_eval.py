"""Leak-free val loss: each position scored by a forward over the tokens up to it, nothing later.

    result = evaluate_causal(run_dir)                       # -> eval/causal.json
    result = evaluate_causal(run_dir, max_tokens=8192, out="causal-8k.json")

The val loss a training run logs comes from one forward over a whole window of T tokens, every
position's logits read at once. That score is only honest if position t cannot see tokens after
t: a mixer that leaks (the naive mask of UW CSE 447/517 A2 §2.1 zeroes future weights *after* the
softmax, so the future stays in every row's denominator) looks better than it is. Here the
logits for position t come from a forward over the prefix x[0..t] alone (T forwards of growing
length per batch of windows; cost ~T/2 times one full-window evaluation), so no variant can
profit from the future. A causal model gets the same loss both ways (up to float rounding).

Also probes the trained model as tests/test_attention_variants.py does: change the token at t+1
and see whether the logits at positions <= t move (`sees_future`). Writes `<run>/eval/causal.json`:
{"kind": "causal", "checkpoint", "block_size", "windows", "tokens", "loss", "ppl", "window_loss",
"window_ppl", "future_leak", "sees_future"} (loss: prefix-by-prefix; window_loss: one forward per
window, the training metric, on the same windows). The report's ablation table reads causal.json,
so one scored on another number of tokens is never replaced unless asked (`overwrite`). The
`eval_causal` tool (jobs/tools/eval_causal.py) is the command line over this.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from gpt import rundir
from jobs.errors import UserError
from jobs.length_eval import refuse_to_replace, val_tokens
from jobs.run_model import load_run_model

FILE = rundir.CAUSAL   # the default --out
DEFAULT_MAX_TOKENS = 4096
LEAK_TOLERANCE = 1e-4   # max |logit change| a causal model may show (float rounding of fused kernels)


def windows(tokens, block_size: int, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping val windows: x, y (N, T) with y = x shifted by one, from the first max_tokens."""
    data = torch.as_tensor(tokens[: max_tokens + 1].astype("int64"))
    n = (len(data) - 1) // block_size
    if n < 1:
        raise UserError(f"the val split has {len(data)} tokens, fewer than block_size+1={block_size + 1}")
    x = data[: n * block_size].view(n, block_size)
    y = data[1: n * block_size + 1].view(n, block_size)
    return x, y


@torch.no_grad()
def mean_nll(model, x: torch.Tensor, y: torch.Tensor, prefix: bool, batch_size: int = 64) -> float:
    """Mean NLL of windows x, y (N, T) in nats/token. prefix: the logits at t come from
    model(x[:, :t+1]) only (leak-free); else from one forward per window (what training logs)."""
    device = next(model.parameters()).device
    total = 0.0
    for i in range(0, x.size(0), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        if prefix:                                                          # (B, T, V), row t from x[:, :t+1]
            logits = torch.stack([model(xb[:, : t + 1])[0][:, -1] for t in range(xb.size(1))], dim=1)
        else:
            logits = model(xb)[0]                                           # (B, T, V)
        total += float(F.cross_entropy(logits.float().flatten(0, 1), yb.flatten(), reduction="sum"))
    return total / y.numel()


@torch.no_grad()
def future_leak(model, x: torch.Tensor, vocab_size: int) -> float:
    """Largest change of the logits at positions <= t when only the token at t+1 changes: x (N, T)."""
    device = next(model.parameters()).device
    x = x[:8].to(device)
    base = model(x)[0].float()                                              # (B, T, V)
    T = x.size(1)
    worst = 0.0
    for t in sorted({0, T // 4, T // 2, T - 2} - {-1}):
        changed = x.clone()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % vocab_size
        out = model(changed)[0].float()
        worst = max(worst, float((out[:, : t + 1] - base[:, : t + 1]).abs().max()))
    return worst


def evaluate_causal(run_dir: Path, max_tokens: int = DEFAULT_MAX_TOKENS, data_root=None, cache_dir=None,
                    device: str = "cpu", out: str = FILE, overwrite: bool = False) -> dict:
    """Score the best weights of `run_dir` prefix by prefix; write eval/<out>, return it.

    UserError if eval/<out> holds a score of another number of tokens and not `overwrite`."""
    run_dir = Path(run_dir)
    target = run_dir / rundir.EVAL / out
    refuse_to_replace(target, overwrite, f"a score of max_tokens {max_tokens}",
                      lambda old: f"a score of max_tokens {old.get('max_tokens')}")
    model, _, cfg = load_run_model(run_dir, "best", device)
    if getattr(cfg.model, "arch", "gpt") != "gpt":   # an LSTM is causal by construction
        raise UserError(f"eval_causal scores GPT runs; {run_dir} is a {cfg.model.arch} run")
    x, y = windows(val_tokens(cfg, data_root, cache_dir), cfg.model.block_size, max_tokens)
    loss, whole = mean_nll(model, x, y, prefix=True), mean_nll(model, x, y, prefix=False)
    leak = future_leak(model, x, cfg.model.vocab_size)
    result = {"kind": "causal", "checkpoint": "best", "block_size": cfg.model.block_size,
              "max_tokens": max_tokens, "windows": x.size(0), "tokens": y.numel(),
              "loss": loss, "ppl": math.exp(min(loss, 50)), "window_loss": whole,
              "window_ppl": math.exp(min(whole, 50)), "future_leak": leak,
              "sees_future": leak > LEAK_TOLERANCE}
    rundir.write_json(target, result)
    return result
