"""Incremental decoding with a key/value cache: each new token costs one position, not the context.

    cache = KVCache()
    logits = cached_logits(model, idx, cache)         # prompt (B, T): fills the cache
    logits = cached_logits(model, idx[:, -1:], cache)  # then one token at a time
    logits = window_logits(model, idx[:, -block_size:])  # a cropped window: read afresh

A token's keys and values never change once computed (causal attention, positions counted from
the first token), so running only the new positions against the cached keys gives the logits of a
full forward, up to float summation order. That holds for softmax attention with the causal mask,
a pairwise score (`model.score` in FUSED_SCORES), and positions that do not shift (learned,
sinusoidal, none) while the context fits in the model. Everything else (other mixers, naive
masking, RoPE/ALiBi, an analysis hook on the weights, a context cropped to block_size, which
moves every position) goes through the plain forward: `supports_cache(model)` says which.

Once the context is cropped, every position moves and the window is read afresh; only its last
position's logits are wanted, so `window_logits` runs the last block's queries, output projection
and MLP on that position alone (its keys and values still cover the window): 9 of 12 C^2 per token
of one block in L, about a fifth of a 4-layer model's sampling forward.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gpt.config_model import FUSED_SCORES, SOFTMAX_ATTENTIONS
from gpt.positions import absolute_positions


def supports_cache(model) -> bool:
    """True when cached_logits(model, ...) gives a full forward's logits (see the module doc)."""
    cfg = getattr(model, "cfg", None)
    blocks = getattr(model, "blocks", None)
    if cfg is None or blocks is None or getattr(cfg, "arch", None) != "gpt":
        return False
    return (cfg.attention in SOFTMAX_ATTENTIONS and cfg.mask == "causal" and cfg.score in FUSED_SCORES
            and cfg.pos_embedding in ("learned", "sinusoidal", "none")
            and all(getattr(b.attn, "map_transform", None) is None for b in blocks))


@dataclass
class KVCache:
    """Per layer (keys, values), each (B, h, T, d), and the T positions they cover."""

    layers: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    length: int = 0


def _attend(attn, x: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
    """One softmax mixer on the new positions x (B, t, C) against cached + new keys -> (B, t, C)."""
    q, k, v = (attn.split_heads(z) for z in attn.qkv(x))             # each (B, h, t, d)
    if layer < len(cache.layers):
        past_k, past_v = cache.layers[layer]
        k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)   # (B, h, T, d)
        cache.layers[layer] = (k, v)
    else:
        cache.layers.append((k, v))
    t, T = q.size(2), k.size(2)
    scores = attn.score.logits(q, k)                                  # (B, h, t, T)
    if t > 1:   # new query i sits at position T - t + i and sees keys 0 .. T - t + i
        seen = attn.causal(T, T)[T - t:]                              # (t, T)
        scores = scores.masked_fill(~seen, float("-inf"))
    return attn.output(torch.softmax(scores, dim=-1) @ v)             # (B, t, C)


@torch.no_grad()
def cached_logits(model, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Logits (B, V) of the last position after appending idx (B, t) to what the cache holds.

    The model must be in eval mode (no dropout) and supports_cache(model) true; the caller keeps
    cache.length + t within model.cfg.max_context (beyond it positions would shift).
    """
    cfg, start, t = model.cfg, cache.length, idx.size(1)
    x = model.wte(idx)                                                # (B, t, C)
    pos = absolute_positions(cfg.pos_embedding, model.wpe, start + t, cfg.n_embd, idx.device)
    if pos is not None:
        x = x + pos[start:]                                           # rows of the new positions
    for layer, block in enumerate(model.blocks):
        if block.pre:
            x = x + _attend(block.attn, block.ln_1(x), cache, layer)
            x = x + block.mlp(block.ln_2(x))
        else:
            x = block.ln_1(x + _attend(block.attn, x, cache, layer))
            x = block.ln_2(x + block.mlp(x))
    cache.length = start + t
    return model.lm_head(model.ln_f(x[:, -1, :]))                     # (B, V)


def _attend_last(attn, h: torch.Tensor) -> torch.Tensor:
    """One softmax mixer's output (B, 1, C) for the last of h's (B, T, C) positions, which sees all T."""
    q, k, v = (attn.split_heads(z) for z in attn.qkv(h))             # each (B, h, T, d)
    scores = attn.score.logits(q[:, :, -1:], k)                       # (B, h, 1, T)
    return attn.output(torch.softmax(scores, dim=-1) @ v)             # (B, 1, C)


@torch.no_grad()
def window_logits(model, idx: torch.Tensor) -> torch.Tensor:
    """Logits (B, V) of the last position of idx (B, T), T <= model.cfg.max_context, read afresh.

    The same figures as model(idx)[0][:, -1] up to float summation order, for a model
    supports_cache(model) accepts, in eval mode.
    """
    x = model.wte(idx)                                                # (B, T, C)
    pos = absolute_positions(model.cfg.pos_embedding, model.wpe, idx.size(1), model.cfg.n_embd, idx.device)
    x = x if pos is None else x + pos
    *body, block = model.blocks
    for b in body:                   # every position: they are the last block's keys and values
        x, _ = b(x)
    if block.pre:
        x = x[:, -1:] + _attend_last(block.attn, block.ln_1(x))       # (B, 1, C)
        x = x + block.mlp(block.ln_2(x))
    else:
        x = block.ln_1(x[:, -1:] + _attend_last(block.attn, x))
        x = block.ln_2(x + block.mlp(x))
    return model.lm_head(model.ln_f(x[:, -1, :]))                     # (B, V)
