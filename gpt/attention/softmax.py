"""Softmax attention with its options: mask (causal | naive), score, q/k/v projection, and the
positions that act inside attention (RoPE on q and k, ALiBi on the logits).

Two paths compute the same thing: "fused" calls `scaled_dot_product_attention` (flash /
memory-efficient kernels on GPU; the fast default) and "explicit" spells out every step and can
return the weights. With the default options the state dict is today's (`qkv`, `proj`), so old
checkpoints load strictly.

Naive masking (UW CSE 447/517 attention assignment §2.1): zeroing the future weights *after* the softmax leaves the future
logits in the softmax's denominator, so the weight on every past token, and hence the output at
t, depends on tokens after t: the model can read the future (and the weights no longer sum to 1).
It exists to show that leak; tests assert it.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.attention.base import Mixer, make_qkv
from gpt.attention.scores import make_score
from gpt.config import GPTConfig
from gpt.positions import ALiBi, RoPE


class SoftmaxAttention(Mixer):
    """Multi-head softmax attention; model.attention = fused | explicit."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.fused, self.naive = cfg.attention == "fused", cfg.mask == "naive"
        self.qkv = make_qkv(cfg)
        self.score = make_score(cfg)
        self.add_output(cfg)
        self.add_causal_mask(cfg)
        self.rope = RoPE(cfg.head_dim) if cfg.pos_embedding == "rope" else None
        self.alibi = ALiBi(cfg.n_head) if cfg.pos_embedding == "alibi" else None
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.dropout_p = cfg.dropout
        self.map_transform = None   # analysis hook (gpt/attention/rank.py): weights -> replacement

    def explicit(self, q, k, v) -> tuple[torch.Tensor, torch.Tensor]:
        """Step-by-step attention. q, k, v (B, h, T, d) -> output (B, h, T, d), weights (B, h, T, T)."""
        T = q.size(-2)
        scores = self.score.logits(q, k)                  # pairwise similarities (B, h, T, T)
        if self.alibi is not None:
            scores = scores + self.alibi(T, q.device)     # -slope * distance (h, T, T)
        causal = self.causal(T, T)
        if self.naive:   # the wrong way: the softmax has already seen the future
            weights = torch.softmax(scores, dim=-1).masked_fill(~causal, 0.0)
        else:
            scores = scores.masked_fill(~causal, float("-inf"))  # position t sees only <= t
            weights = torch.softmax(scores, dim=-1)
        if self.map_transform is not None:
            weights = self.map_transform(weights)
        return self.attn_dropout(weights) @ v, weights    # weighted sum of values

    def sdpa(self, q, k, v) -> torch.Tensor:
        """The same through `scaled_dot_product_attention`: (B, h, T, d) -> (B, h, T, d)."""
        q, k, scale = self.score.sdpa(q, k)
        dropout_p = self.dropout_p if self.training else 0.0
        if self.alibi is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout_p,
                                                  scale=scale)
        T = q.size(-2)
        bias = self.alibi(T, q.device).masked_fill(~self.causal(T, T), float("-inf"))
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                              dropout_p=dropout_p, scale=scale)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), weights (B, h, T, T) or None)."""
        q, k, v = (self.split_heads(t) for t in self.qkv(x))
        if self.rope is not None:
            q, k = self.rope(q, k)                        # rotate by position before scoring
        if self.fused and not return_weights and self.map_transform is None:
            y, weights = self.sdpa(q, k, v), None
        else:
            y, weights = self.explicit(q, k, v)
        return self.output(y), weights
