"""What every token mixer shares: head split/merge, the output projection, the causal mask, and
the q/k/v projections of the mixers that have them.

Contract of a mixer: `forward(x, return_weights=False) -> (y, weights or None)` with x, y (B, T, C)
and weights (B, h, T, T) when the mixer has a token-to-token map and it was asked for.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.config import GPTConfig


def causal_mask(Tq: int, Tk: int, device) -> torch.Tensor:
    """(Tq, Tk) bool, True where query i may see key j (j <= i): the tril of CS224n's
    `mask[:Tq, :Tk]`, also for cross-attention between latents and tokens."""
    return torch.tril(torch.ones(Tq, Tk, dtype=torch.bool, device=device))


class Mixer(nn.Module):
    """Base of every attention family: heads, output projection `proj`, residual dropout."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd, self.head_dim = cfg.n_head, cfg.n_embd, cfg.head_dim

    def add_causal_mask(self, cfg: GPTConfig) -> None:
        """Register `tril`, causal_mask(block_size, block_size), for the mixers that mask on every
        forward: built once, not per step. Not persistent: state dicts keep their keys, so
        checkpoints from before load strictly."""
        self.register_buffer("tril", causal_mask(cfg.block_size, cfg.block_size, None), persistent=False)

    def causal(self, Tq: int, Tk: int) -> torch.Tensor:
        """causal_mask(Tq, Tk) as `tril[:Tq, :Tk]`; built for the call past block_size (positions
        with no length limit, RoPE or ALiBi, evaluated beyond the training length)."""
        if Tq <= self.tril.size(0) and Tk <= self.tril.size(1):
            return self.tril[:Tq, :Tk]
        return causal_mask(Tq, Tk, self.tril.device)

    def add_output(self, cfg: GPTConfig) -> None:
        """Create `proj` and its dropout. Subclasses call it after their own projections: modules
        are initialised in registration order, so the default mixer draws today's initial weights."""
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.proj.residual_scale = True   # GPT-2 init scales residual projections
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, h, T, d): one slice of channels per head."""
        B, T, C = x.shape
        return x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)   # (B, h, T, d)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, h, T, d) -> (B, T, C): the heads side by side again."""
        B, h, T, d = x.shape
        return x.transpose(1, 2).contiguous().view(B, T, h * d)             # (B, T, C)

    def output(self, y: torch.Tensor) -> torch.Tensor:
        """Heads (B, h, T, d) -> projected, dropped-out residual update (B, T, C)."""
        return self.resid_dropout(self.proj(self.merge_heads(y)))


class LinearQKV(nn.Linear):
    """q, k, v from one Linear (state-dict name `qkv`, as in every earlier checkpoint).
    separate: 3C outputs (rows q, k, v); shared_qk: 2C, q = k; shared_qkv: C, q = k = v."""

    PARTS = {"separate": 3, "shared_qk": 2, "shared_qkv": 1}

    def __init__(self, n_embd: int, mode: str, bias: bool):
        super().__init__(n_embd, self.PARTS[mode] * n_embd, bias=bias)
        self.n_embd, self.mode = n_embd, mode

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> (q, k, v), each (B, T, C); shared modes repeat a part."""
        parts = super().forward(x).split(self.n_embd, dim=-1)   # each (B, T, C)
        if self.mode == "separate":
            return parts
        if self.mode == "shared_qk":
            return parts[0], parts[0], parts[1]
        return parts[0], parts[0], parts[0]


class MLPQKV(nn.Module):
    """q, k, v each from a small MLP (Linear -> GELU -> Linear): the UW CSE 447/517 attention assignment's "make W_Q, W_K, W_V
    more interesting" with a nonlinearity per projection."""

    def __init__(self, n_embd: int, bias: bool):
        super().__init__()
        def mlp() -> nn.Sequential:
            return nn.Sequential(nn.Linear(n_embd, n_embd, bias=bias), nn.GELU(),
                                 nn.Linear(n_embd, n_embd, bias=bias))
        self.q, self.k, self.v = mlp(), mlp(), mlp()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> (q, k, v), each (B, T, C), through their own MLPs."""
        return self.q(x), self.k(x), self.v(x)                  # each (B, T, C)


def make_qkv(cfg: GPTConfig) -> nn.Module:
    """The projection module chosen by `cfg.qkv`; its forward returns (q, k, v), each (B, T, C)."""
    if cfg.qkv == "mlp":
        return MLPQKV(cfg.n_embd, cfg.bias)
    return LinearQKV(cfg.n_embd, cfg.qkv, cfg.bias)


def elu_feature(x: torch.Tensor) -> torch.Tensor:
    """elu(x) + 1 > 0: the feature map of Katharopoulos et al. (2020)."""
    return F.elu(x) + 1.0
