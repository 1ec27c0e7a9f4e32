"""Autoregressive sampling: greedy, temperature, top-k and top-p (nucleus).

    out = generate(model, idx, max_new_tokens=100, temperature=0.8, top_k=40)   # (B, T + 100)

A transformer re-reads its context each token, cropped to its `cfg.max_context` (block_size for
learned positions or a mixer with per-position parameters; no crop for sinusoidal, rope, alibi or
no positions with an unbounded mixer, which run at any length), so any length can be sampled; a
recurrent model (one with `forward_with_state`, the LSTM) reads the prompt once and then carries
its state one token at a time, so nothing is ever cropped.
"""
from __future__ import annotations

import torch


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the top-k and outside the smallest set of mass >= top_p.

    logits (B, V) -> (B, V). top_k=0 and top_p=1.0 leave the logits unchanged.
    """
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]               # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        # drop a token when the mass *before* it already reaches top_p (keeps at least one)
        drop_sorted = (cum - torch.softmax(sorted_logits, dim=-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _next_token(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
                generator: torch.Generator | None) -> torch.Tensor:
    """logits (B, V) -> next token ids (B, 1)."""
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator)


@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens; temperature 0 (or below 1e-8 in effect) is greedy."""
    was_training = model.training
    model.eval()
    recurrent = hasattr(model, "forward_with_state")
    if recurrent:   # read the prompt once, then one token per step from the carried state
        logits, state = model.forward_with_state(idx)
    limit = model.cfg.max_context   # None: the model runs at any length, so it sees everything
    for step in range(max_new_tokens):
        if not recurrent:
            context = idx if limit is None or idx.size(1) <= limit else idx[:, -limit:]
            logits, _ = model(context)
        elif step:
            logits, state = model.forward_with_state(idx[:, -1:], state)
        nxt = _next_token(logits[:, -1, :], temperature, top_k, top_p, generator)   # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
    model.train(was_training)
    return idx
