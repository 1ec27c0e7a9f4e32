"""Where a token sits: added to the embeddings (learned, sinusoidal) or applied inside softmax
attention (RoPE rotates q and k, ALiBi biases the logits); "none" (NoPE) relies on the causal
mask alone, which already lets a decoder infer positions.

    cfg.pos_embedding = learned | sinusoidal | rope | alibi | none

Only "learned" is bounded by block_size (one row per position); the others accept any length.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def sinusoidal_positions(T: int, n_embd: int, device=None) -> torch.Tensor:
    """Fixed (T, C) table of Vaswani et al.: sin on even, cos on odd dims; any T works."""
    pos = torch.arange(T, device=device, dtype=torch.float32).unsqueeze(1)        # (T, 1)
    freq = torch.exp(torch.arange(0, n_embd, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / n_embd))                             # (C/2,)
    table = torch.zeros(T, n_embd, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: n_embd // 2])
    return table


def absolute_positions(kind: str, wpe: nn.Embedding | None, T: int, n_embd: int,
                       device) -> torch.Tensor | None:
    """The (T, C) table added to token embeddings, or None when positions act inside attention
    (rope, alibi) or are absent (none)."""
    if kind == "learned":
        return wpe(torch.arange(T, device=device))
    if kind == "sinusoidal":
        return sinusoidal_positions(T, n_embd, device)
    return None


class RoPE(nn.Module):
    """Rotary embeddings (Su et al., RoFormer): rotate each pair (2i, 2i+1) of q and k by the angle
    pos * base^(-2i/d), so q_t . k_s depends on t - s only. No parameters; any length."""

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (d/2,)
        self.register_buffer("inv_freq", inv_freq, persistent=False)   # not in checkpoints

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q, k (B, h, T, d) -> rotated q, k of the same shape."""
        T = q.size(-2)
        angle = torch.arange(T, device=q.device, dtype=torch.float32)[:, None] * self.inv_freq  # (T, d/2)
        cos, sin = angle.cos().to(q.dtype), angle.sin().to(q.dtype)
        return self._rotate(q, cos, sin), self._rotate(k, cos, sin)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        even, odd = x[..., 0::2], x[..., 1::2]                       # (B, h, T, d/2) each
        out = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
        return out.flatten(-2)                                       # interleave back (B, h, T, d)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """Per-head slopes of Press et al.: the geometric sequence 2^(-8/n), 2^(-16/n), ... for a power
    of two n; otherwise those of the nearest lower power of two, then every other slope of twice
    that many (the paper's recipe)."""
    def powers(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]
    low = 2 ** math.floor(math.log2(n_head))
    slopes = powers(low) + powers(2 * low)[0::2][: n_head - low]
    return torch.tensor(slopes)


class ALiBi(nn.Module):
    """Attention with linear biases: logit(t, s) += -slope_h * (t - s). No parameters; any length."""

    def __init__(self, n_head: int):
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(n_head), persistent=False)   # (h,)

    def forward(self, T: int, device) -> torch.Tensor:
        """Bias (h, T, T); future entries (s > t) are positive but are masked by the caller."""
        pos = torch.arange(T, device=device)
        distance = (pos[:, None] - pos[None, :]).to(self.slopes.dtype)     # (T, T): t - s
        return -self.slopes.to(device)[:, None, None] * distance
