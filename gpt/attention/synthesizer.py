"""Synthesizer (Tay et al., 2021): attention weights that do not come from query-key dot products.

- dense: each token synthesises its own row of logits over positions, B_t = W2 relu(W1 x_t) in
  R^{block_size} per head;
- random: one learned (block_size, block_size) logit matrix per head, the same for every input.

Causal: the synthesised (T, T) logits get -inf above the diagonal before the softmax, exactly as
softmax attention does. Both have one logit per position, so the model is bounded by block_size.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from gpt.attention.base import Mixer
from gpt.config import GPTConfig


class SynthesizerAttention(Mixer):
    """Shared body: value projection, causal softmax over synthesised logits (subclass)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.value = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.add_output(cfg)
        self.add_causal_mask(cfg)
        self.attn_dropout = nn.Dropout(cfg.dropout)

    def synthesise(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> attention logits (B or 1, h, T, T), made without q . k."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), weights (B, h, T, T))."""
        T = x.size(1)
        logits = self.synthesise(x)                                    # (B or 1, h, T, T)
        logits = logits.masked_fill(~self.causal(T, T), float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        y = self.attn_dropout(weights) @ self.split_heads(self.value(x))   # (B, h, T, d)
        return self.output(y), weights.expand(x.size(0), -1, -1, -1)


class DenseSynthesizer(SynthesizerAttention):
    """model.attention=synthesizer_dense."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.block_size = cfg.block_size
        self.synth = nn.Sequential(nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias), nn.ReLU(),
                                   nn.Linear(cfg.n_embd, cfg.n_head * cfg.block_size, bias=cfg.bias))

    def synthesise(self, x):
        """Each position's row of logits from its own x through a 2-layer MLP."""
        B, T, _ = x.shape
        rows = self.synth(x).view(B, T, self.n_head, self.block_size)  # (B, T, h, L)
        return rows.transpose(1, 2)[..., :T]                          # (B, h, T, T)


class RandomSynthesizer(SynthesizerAttention):
    """model.attention=synthesizer_random (trainable random logits, initialised N(0, 1))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.logits = nn.Parameter(torch.randn(cfg.n_head, cfg.block_size, cfg.block_size))

    def synthesise(self, x):
        """The learned (h, T, T) logits, the same for every input."""
        T = x.size(1)
        return self.logits[None, :, :T, :T]                           # (1, h, T, T)
