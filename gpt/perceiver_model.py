"""CS224n a5's perceiver architecture (`model.attention=perceiver model.perceiver_layout=cs224n`).

    embed (B, T, C) -> DownProjectBlock: m learned basis vectors C (m, C) cross-attend to the tokens
                    -> n_layer - 2 ordinary blocks on the m latents (causal self-attention, m x m)
                    -> UpProjectBlock: the embedded tokens x_input cross-attend to the latents
                    -> final norm, head                                      -> logits (B, T, V)

Both cross-attentions use CS224n's CausalCrossAttention mask, the lower triangle sliced to the
rectangle, `tril[:Tq, :Tk]`: latent i sees tokens j <= i, token t sees latents i <= t, and the
latent blocks are causal among latents, so no output depends on a later token. (Through the
bottleneck a token at t >= m sees only the first m tokens' latents, plus its own embedding.)

The layout, the basis C (xavier-uniform, (m, C)) and the masks follow the CS224n 2022-23 starter
(model.py's GPT with `perceiver=True`, attention.py's CausalCrossAttention). The starter leaves the
two blocks' forward to the student ("copy over the code from Block ... use the layernorm layers on
C / y, and then on the input to the MLP"); we read it as Block with the cross-attention in place
of self-attention: down  z = C + attn(q=ln1(C), kv=x_input);  z = z + mlp(ln2(z)),
              up    x = x_input + attn(q=x_input, kv=ln1(y));  x = x + mlp(ln2(x)).
The per-layer mixer (`perceiver_layout=per_layer`, gpt/attention/perceiver.py) is the other layout.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.attention.base import Mixer
from gpt.config import GPTConfig
from gpt.loss import lm_loss
from gpt.model import GPT, MLP, make_norm


class CausalCrossAttention(Mixer):
    """Queries (B, Tq, C) over keys/values (B, Tk, C) with the mask tril[:Tq, :Tk] -> (B, Tq, C)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.query = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.key_value = nn.Linear(cfg.n_embd, 2 * cfg.n_embd, bias=cfg.bias)
        self.add_output(cfg)
        self.add_causal_mask(cfg)
        self.dropout_p = cfg.dropout

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
        """x_q (B, Tq, C), x_kv (B, Tk, C) -> (B, Tq, C)."""
        q = self.split_heads(self.query(x_q))                                   # (B, h, Tq, d)
        k, v = (self.split_heads(t) for t in self.key_value(x_kv).split(self.n_embd, dim=-1))
        mask = self.causal(q.size(-2), k.size(-2))                   # (Tq, Tk)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout_p if self.training else 0.0)
        return self.output(y)


class DownProjectBlock(nn.Module):
    """m latents (the basis C) cross-attend to the tokens: (B, T, C) -> (B, m, C)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.C = nn.Parameter(nn.init.xavier_uniform_(torch.empty(cfg.n_latents, cfg.n_embd)))
        self.ln1, self.attn, self.ln2, self.mlp = make_norm(cfg), CausalCrossAttention(cfg), make_norm(cfg), MLP(cfg)

    def forward(self, x_input: torch.Tensor) -> torch.Tensor:
        """x_input (B, T, C) -> latents (B, m, C)."""
        C = self.C.to(x_input.dtype).expand(x_input.size(0), -1, -1)          # (B, m, C)
        z = C + self.attn(self.ln1(C), x_input)
        return z + self.mlp(self.ln2(z))


class UpProjectBlock(nn.Module):
    """The tokens cross-attend to the latents: (B, m, C), (B, T, C) -> (B, T, C)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.mlp = make_norm(cfg), CausalCrossAttention(cfg), make_norm(cfg), MLP(cfg)

    def forward(self, y: torch.Tensor, x_input: torch.Tensor) -> torch.Tensor:
        """y (B, m, C) latents, x_input (B, T, C) embedded tokens -> (B, T, C)."""
        x = x_input + self.attn(x_input, self.ln1(y))
        return x + self.mlp(self.ln2(x))


class CS224nPerceiverGPT(GPT):
    """GPT's embeddings, final norm and head around down -> n_layer - 2 latent blocks -> up."""

    def __init__(self, cfg: GPTConfig):
        # the latent blocks are ordinary softmax blocks (CS224n: CausalSelfAttention) over m positions
        super().__init__(dataclasses.replace(cfg, n_layer=cfg.n_layer - 2, attention="fused",
                                             perceiver_layout="per_layer"))
        self.cfg = cfg
        self.down, self.up = DownProjectBlock(cfg), UpProjectBlock(cfg)
        for part in (self.down, self.up):
            part.apply(self._init_weights)

    def forward(self, idx, targets=None, mask=None):
        """idx (B, T) -> (logits (B, T, V), loss or None)."""
        x_input = self._embed(idx)                                 # (B, T, C)
        z = self.down(x_input)                                     # (B, m, C)
        for block in self.blocks:
            z, _ = block(z)                                        # causal among the m latents
        logits = self.lm_head(self.ln_f(self.up(z, x_input)))     # (B, T, V)
        return logits, (lm_loss(logits, targets, mask) if targets is not None else None)

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[None]:
        """No token-to-token map (the latent blocks' maps are m x m): None per layer."""
        return [None] * self.cfg.n_layer
