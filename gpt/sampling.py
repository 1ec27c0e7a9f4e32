"""Autoregressive sampling: greedy, temperature, top-k and top-p (nucleus).

    out = generate(model, idx, max_new_tokens=100, temperature=0.8, top_k=40)   # (B, T + 100)

    out = generate(model, idx6, 300, temperature=[1.5, 1.0, 0.8, 0.5, 0.1, 1e-4], generator=gens)

A transformer re-reads its context each token, cropped to its `cfg.max_context` (block_size for
learned positions or a mixer with per-position parameters; no crop for sinusoidal, rope, alibi or
no positions with an unbounded mixer, which run at any length), so any length can be sampled.
While the context fits, a softmax model reads only the new token against a key/value cache
(gpt/kv_cache.py: the same logits up to float order; `use_cache=False` or a mixer where it is not
exact re-reads everything); once cropped, such a model runs only the last position through its last
block (kv_cache.window_logits). A recurrent model (one with `forward_with_state`, the LSTM) reads the
prompt once and then carries its state one token at a time, so nothing is ever cropped.

Rows of one batch can each have their own temperature and generator: then row i draws exactly
the tokens it would draw alone with that temperature and generator (up to float order), which is
how several temperatures are sampled in one forward per token (jobs/run_model.py).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from gpt.kv_cache import KVCache, cached_logits, supports_cache, window_logits


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


def _next_rows(logits: torch.Tensor, temperatures: Sequence[float], top_k: int, top_p: float,
               generators: Sequence[torch.Generator | None]) -> torch.Tensor:
    """Row i of logits (B, V) drawn with temperatures[i] and generators[i] -> ids (B, 1)."""
    return torch.cat([_next_token(logits[i:i + 1], t, top_k, top_p, g)
                      for i, (t, g) in enumerate(zip(temperatures, generators))])


@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float | Sequence[float] = 1.0,
             top_k: int = 0, top_p: float = 1.0,
             generator: torch.Generator | Sequence[torch.Generator] | None = None,
             use_cache: bool = True) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens; temperature 0 (or below 1e-8 in effect) is greedy.

    temperature and generator: one for all rows, or one per row (sequences of length B)."""
    per_row = not isinstance(temperature, (int, float)) or isinstance(generator, Sequence)
    if per_row:
        B = idx.size(0)
        temps = list(temperature) if not isinstance(temperature, (int, float)) else [temperature] * B
        gens = list(generator) if isinstance(generator, Sequence) else [generator] * B
        if len(temps) != B or len(gens) != B:
            raise ValueError(f"{len(temps)} temperatures and {len(gens)} generators for {B} rows")
    was_training = model.training
    model.eval()
    recurrent = hasattr(model, "forward_with_state")
    if recurrent:   # read the prompt once, then one token per step from the carried state
        logits, state = model.forward_with_state(idx)
    limit = model.cfg.max_context   # None: the model runs at any length, so it sees everything
    cache = KVCache() if use_cache and not recurrent and supports_cache(model) else None
    for step in range(max_new_tokens):
        fits = limit is None or idx.size(1) <= limit
        if cache is not None and fits:   # only the tokens the cache has not seen yet
            last = cached_logits(model, idx[:, cache.length:], cache)             # (B, V)
        elif cache is not None:          # cropped: every position moved, read the window afresh
            last = window_logits(model, idx[:, -limit:])                           # (B, V)
        elif not recurrent:
            context = idx if fits else idx[:, -limit:]
            last = model(context)[0][:, -1, :]
        else:
            if step:
                logits, state = model.forward_with_state(idx[:, -1:], state)
            last = logits[:, -1, :]
        if per_row:
            nxt = _next_rows(last, temps, top_k, top_p, gens)                     # (B, 1)
        else:
            nxt = _next_token(last, temperature, top_k, top_p, generator)         # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
    model.train(was_training)
    return idx
