"""GPT from scratch: embeddings, blocks (pre-LN or post-LN), causal self-attention, tied head.

    model = GPT(GPTConfig(vocab_size=65, n_layer=3, n_head=3, n_embd=48))
    logits, loss = model(idx, targets)          # idx (B, T) int64 -> logits (B, T, vocab)

The token mixer of each block comes from `gpt.attention.make_attention(cfg)` (default "fused":
`scaled_dot_product_attention`; "explicit" spells out every step and returns the weights; the other
variants in gpt/attention/); positions from gpt/positions.py. This file only assembles them.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.attention import SoftmaxAttention as CausalSelfAttention  # noqa: F401  (today's name)
from gpt.attention import make_attention
from gpt.config import GPTConfig
from gpt.loss import lm_loss
from gpt.positions import absolute_positions


class LayerNorm(nn.Module):
    """Hand-written LayerNorm: (x - mean) / sqrt(biased var + eps) * weight + bias."""

    def __init__(self, n_embd: int, bias: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> normalised over C, then scaled (and shifted if biased)."""
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)       # biased: divide by C, not C-1
        y = (x - mean) / torch.sqrt(var + self.eps) * self.weight
        return y + self.bias if self.bias is not None else y


def make_norm(cfg: GPTConfig) -> nn.Module:
    """The layer norm `cfg.layernorm` asks for: torch's, or the hand-written one."""
    if cfg.layernorm == "manual":
        return LayerNorm(cfg.n_embd, bias=cfg.bias)
    return nn.LayerNorm(cfg.n_embd, bias=cfg.bias)


class MLP(nn.Module):
    """The block's feed-forward net: Linear(C, 4C) -> GELU -> Linear(4C, C) -> dropout."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.proj.residual_scale = True
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C)."""
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """pre-LN (GPT-2): x + f(LN(x)); post-LN (GPT-1): LN(x + f(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.pre = cfg.norm_position == "pre"
        self.ln_1, self.attn, self.ln_2, self.mlp = make_norm(cfg), make_attention(cfg), make_norm(cfg), MLP(cfg)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (B, T, C) after attention and MLP, and the attention weights
        (B, h, T, T) when `return_weights` and the mixer has them, else None."""
        if self.pre:
            a, w = self.attn(self.ln_1(x), return_weights)
            x = x + a
            return x + self.mlp(self.ln_2(x)), w
        a, w = self.attn(x, return_weights)
        x = self.ln_1(x + a)
        return self.ln_2(x + self.mlp(x)), w


class GPT(nn.Module):
    """Decoder-only transformer LM: token (+ absolute position) embeddings, n_layer blocks, a
    final norm (pre-LN), lm_head (tied to wte if cfg.tie_weights).
    forward(idx, targets=None, mask=None) -> (logits, loss)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        if cfg.vocab_size <= 0:
            raise ValueError("GPTConfig.vocab_size is 0: set it from the tokenizer before building")
        if cfg.perceiver_layout == "cs224n":   # a different model: gpt.build_model picks it
            raise ValueError("perceiver_layout=cs224n is gpt.perceiver_model.CS224nPerceiverGPT; "
                             "build it with gpt.build_model(cfg)")
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos_embedding == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = make_norm(cfg) if cfg.norm_position == "pre" else nn.Identity()
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        if self.wpe is not None and cfg.pos_init == "zeros":
            nn.init.zeros_(self.wpe.weight)          # CS224n minGPT: nn.Parameter(torch.zeros(...))

    def _init_weights(self, module: nn.Module) -> None:
        # GPT-2: N(0, 0.02); residual projections N(0, 0.02/sqrt(2 n_layer)) so the residual
        # stream's variance does not grow with depth (residual_init="plain": minGPT, no scaling)
        if isinstance(module, nn.Linear):
            scaled = getattr(module, "residual_scale", False) and self.cfg.residual_init == "scaled"
            std = 0.02 / math.sqrt(2 * self.cfg.n_layer) if scaled else 0.02
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def num_params(self) -> int:
        """All parameters, trainable and frozen, tied weights once (apart: gpt.param_counts)."""
        return sum(p.numel() for p in self.parameters())

    def _embed(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        limit = self.cfg.max_context
        if limit is not None and T > limit:
            why = ("learned positions" if self.cfg.pos_embedding == "learned" else
                   f"model.attention={self.cfg.attention} has one parameter per position")
            raise ValueError(f"sequence of {T} tokens exceeds block_size {limit} ({why}); crop the "
                             "context, or train with pos_embedding=sinusoidal|rope|alibi|none and an "
                             "unbounded mixer")
        x = self.wte(idx)                                                          # (B, T, C)
        pos = absolute_positions(self.cfg.pos_embedding, self.wpe, T, self.cfg.n_embd, idx.device)
        return self.drop(x if pos is None else x + pos)                            # (B, T, C)

    def forward(self, idx, targets=None, mask=None):
        """idx (B, T) -> (logits (B, T, V), loss or None)."""
        x = self._embed(idx)
        for block in self.blocks:
            x, _ = block(x)
        logits = self.lm_head(self.ln_f(x))
        return logits, (lm_loss(logits, targets, mask) if targets is not None else None)

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every layer (softmax mixers through the explicit path): list of
        (B, h, T, T), or None for a mixer without a token-to-token map (aft, perceiver)."""
        x, maps = self._embed(idx), []
        for block in self.blocks:
            x, w = block(x, return_weights=True)
            maps.append(w)
        return maps
