"""A per-layer Perceiver-style bottleneck mixer with CS224n a5's causal cross-attention mask.

What this is, and what it is not: CS224n a5's "perceiver" variant is a whole-model architecture:
ONE DownProjectBlock (m learned basis vectors C cross-attend to the embedded tokens), then
n_layer - 2 ordinary self-attention blocks that run on the m latents only, then ONE UpProjectBlock
(the embedded tokens, x_input, cross-attend to the latents), then the head. This module is a
*token mixer*: every one of the model's n_layer blocks goes down to m latents and straight back
up inside its attention, with no self-attention among the latents and the token stream (and the
MLP) at full length T in every block. It shares CS224n's mask and its down/up cross-attention
idea, not its layer layout or parameter count. CS224n's architecture itself is
`model.perceiver_layout=cs224n` (gpt/perceiver_model.py); this mixer is the default `per_layer`.

Down: m learned latents cross-attend to the T tokens; up: the tokens cross-attend to the m latents.
Causality is kept as in CS224n's CausalCrossAttention, with the lower-triangular mask sliced to the
rectangle, `tril[:Tq, :Tk]`:
- down (m x T): latent i sees tokens j <= i, so latent i summarises the prefix 0..i;
- up (T x m): token t sees latents i <= t, which only summarise tokens <= i <= t.
So no output depends on a later token. The price of the construction: through this mixer, a token
at t >= m sees only the first m tokens (the latents), plus its own residual stream. Any T works
(the latents do not depend on T).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.attention.base import Mixer
from gpt.config import GPTConfig


class PerceiverAttention(Mixer):
    """model.attention=perceiver with m = model.n_latents latents. No T x T map: weights None."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        C = cfg.n_embd
        self.latents = nn.Parameter(nn.init.xavier_uniform_(torch.empty(cfg.n_latents, C)))  # (m, C)
        self.down_q = nn.Linear(C, C, bias=cfg.bias)        # latent queries
        self.down_kv = nn.Linear(C, 2 * C, bias=cfg.bias)   # token keys, values
        self.up_q = nn.Linear(C, C, bias=cfg.bias)          # token queries
        self.up_kv = nn.Linear(C, 2 * C, bias=cfg.bias)     # latent keys, values
        self.add_output(cfg)
        self.add_causal_mask(cfg)
        self.dropout_p = cfg.dropout

    def cross(self, q_in: torch.Tensor, kv_in: torch.Tensor, q_proj: nn.Linear,
              kv_proj: nn.Linear) -> torch.Tensor:
        """Causal cross-attention: queries (B, Tq, C) over keys/values (B, Tk, C) -> (B, h, Tq, d)."""
        q = self.split_heads(q_proj(q_in))
        k, v = (self.split_heads(t) for t in kv_proj(kv_in).split(self.n_embd, dim=-1))
        mask = self.causal(q.size(-2), k.size(-2))          # (Tq, Tk): tril[:Tq, :Tk]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                              dropout_p=self.dropout_p if self.training else 0.0)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), None)."""
        latents = self.latents.to(x.dtype).expand(x.size(0), -1, -1)      # (B, m, C)
        z = self.merge_heads(self.cross(latents, x, self.down_q, self.down_kv))   # (B, m, C)
        y = self.cross(x, z, self.up_q, self.up_kv)                      # (B, h, T, d)
        return self.output(y), None
