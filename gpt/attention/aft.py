"""Attention Free Transformer, AFT-full (Zhai et al., 2021), causal:

    y_t = sigmoid(q_t) * sum_{j<=t} exp(w_{t,j} + k_j) * v_j / sum_{j<=t} exp(w_{t,j} + k_j)

Element-wise per channel: no dot products, no heads. w is a learned (block_size, block_size)
pairwise position bias (zero at start, when AFT-full equals AFT-simple), so the model is bounded
by block_size. Computed as two (T, T) @ (T, C) products with exp(w) zeroed above the diagonal.
k and w are clamped to +-30 before exp so the sums stay finite in float32 (a shift by the
sequence maximum would let future tokens touch the past through rounding).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from gpt.attention.base import LinearQKV, Mixer
from gpt.config import GPTConfig

LOGIT_CLAMP = 30.0   # exp(30) * block_size * exp(30) stays far below float32's max (~exp(88))


class AFTAttention(Mixer):
    """model.attention=aft (AFT-full). Has no token-to-token map: weights are always None."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.qkv = LinearQKV(cfg.n_embd, "separate", cfg.bias)
        self.pos_bias = nn.Parameter(torch.zeros(cfg.block_size, cfg.block_size))   # w (T, T)
        self.add_output(cfg)
        self.add_causal_mask(cfg)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), None)."""
        q, k, v = self.qkv(x)                                          # (B, T, C) each
        T, dtype = x.size(1), v.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):   # sums of exp in float32
            w = self.pos_bias[:T, :T].float().clamp(-LOGIT_CLAMP, LOGIT_CLAMP)
            ew = w.exp().masked_fill(~self.causal(T, T), 0.0)   # (T, T), causal
            ek = k.float().clamp(-LOGIT_CLAMP, LOGIT_CLAMP).exp()         # (B, T, C)
            num = ew @ (ek * v.float())                                    # (B, T, C)
            den = ew @ ek                                                  # (B, T, C), > 0
            y = (torch.sigmoid(q.float()) * num / den).to(dtype)
        return self.resid_dropout(self.proj(y)), None
