"""Low-rank projection along the sequence (Linformer; JHU hw5 §4.4), made causal.

Non-causal: P V ~ softmax(Q (C K)^T / sqrt(d)) (D V) with C, D in R^{k x n}: n keys and values are
projected to k << n "slots", so attention costs O(n k d) instead of O(n^2 d). Without the softmax
this is the assignment's Q (C K)^T (D V).

Causal construction: C K mixes all n positions, so the query at t must use projections of its
*prefix* only. Each slot r is a running, position-weighted sum

    K~_t[r] = sum_{j<=t} C[r, j] k_j / sqrt(t+1),     V~_t[r] = sum_{j<=t} D[r, j] v_j / sqrt(t+1)

(a cumsum over time, exactly causal; the 1/sqrt(t+1) keeps the sums' scale the same at every t
for C, D ~ N(0, 1)), and y_t = softmax_r(q_t . K~_t[r] / sqrt(d)) . V~_t. At t = n-1 with no
causality this is Linformer's projection. C and D have one column per position, so the model is
bounded by block_size.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from gpt.attention.base import Mixer, causal_mask, make_qkv
from gpt.config import GPTConfig


class LowRankAttention(Mixer):
    """model.attention=lowrank with k = model.attn_rank projected slots."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.qkv = make_qkv(cfg)
        self.C = nn.Parameter(torch.randn(cfg.attn_rank, cfg.block_size))   # keys -> slots
        self.D = nn.Parameter(torch.randn(cfg.attn_rank, cfg.block_size))   # values -> slots
        self.add_output(cfg)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), weights (B, h, T, T) or None)."""
        q, k, v = (self.split_heads(t) for t in self.qkv(x))           # (B, h, T, d)
        T, d, dtype = q.size(-2), q.size(-1), v.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):   # long sums: float32
            q, k, v = q.float(), k.float(), v.float()
            norm = torch.arange(1, T + 1, device=x.device, dtype=q.dtype).rsqrt()[:, None, None]  # (T, 1, 1)
            C, D = self.C[:, :T].float(), self.D[:, :T].float()        # (k, T)
            k_slots = torch.einsum("rt,bhtd->bhtrd", C, k).cumsum(dim=2) * norm   # K~_t (B, h, T, k, d)
            v_slots = torch.einsum("rt,bhtd->bhtrd", D, v).cumsum(dim=2) * norm   # V~_t (B, h, T, k, d)
            logits = torch.einsum("bhtd,bhtrd->bhtr", q, k_slots) / math.sqrt(d)  # (B, h, T, k)
            slot_weights = torch.softmax(logits, dim=-1)
            y = torch.einsum("bhtr,bhtrd->bhtd", slot_weights, v_slots).to(dtype)  # (B, h, T, d)
            weights = None
            if return_weights:   # token map: A[t, j] = sum_r w_tr D[r, j] / sqrt(t+1) for j <= t
                a = torch.einsum("bhtr,rj->bhtj", slot_weights, D) * norm[:, :, 0]
                weights = a.masked_fill(~causal_mask(T, T, x.device), 0.0)
        return self.output(y), weights
