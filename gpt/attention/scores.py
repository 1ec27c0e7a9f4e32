"""Score functions of softmax attention: how a query and a key make one logit.

Each has `logits(q, k) -> (B, h, Tq, Tk)` for the explicit path; those SDPA can run have
`sdpa(q, k) -> (q', k', scale)` such that scale * q' k'^T equals `logits(q, k)`.
q, k are (B, h, T, d) throughout.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.config import GPTConfig


class ScaledDot(nn.Module):
    """q . k / sqrt(d) (Vaswani et al.): keeps the logits' variance ~1 as d grows."""

    def logits(self, q, k):
        """q (B, h, Tq, d), k (B, h, Tk, d) -> logits (B, h, Tq, Tk)."""
        return (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))

    def sdpa(self, q, k):
        """(q, k, scale) for scaled_dot_product_attention giving the same logits."""
        return q, k, None                                  # SDPA's default scale is 1/sqrt(d)


class Dot(nn.Module):
    """q . k unscaled (UW CSE 447/517 attention assignment §1): logits grow with d and saturate the softmax."""

    def logits(self, q, k):
        """q (B, h, Tq, d), k (B, h, Tk, d) -> logits (B, h, Tq, Tk), unscaled."""
        return q @ k.transpose(-2, -1)

    def sdpa(self, q, k):
        """(q, k, scale=1) for scaled_dot_product_attention: no 1/sqrt(d)."""
        return q, k, 1.0


class Bilinear(nn.Module):
    """q^T W k / sqrt(d) with a learned (d, d) W per head (Luong's "general" score). W starts as a
    random bilinear form (std 1/sqrt(d), as a Linear would), not as the identity."""

    def __init__(self, n_head: int, head_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_head, head_dim, head_dim) / math.sqrt(head_dim))

    def logits(self, q, k):
        """q W k^T / sqrt(d): q (B, h, Tq, d), k (B, h, Tk, d) -> (B, h, Tq, Tk)."""
        return (q @ self.weight @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))

    def sdpa(self, q, k):
        """(q, k W^T, default scale) for scaled_dot_product_attention."""
        return q, k @ self.weight.transpose(-2, -1), None   # q W k^T = q (k W^T)^T


class Cosine(nn.Module):
    """tau_h * cos(q, k) with a learned temperature per head (log-parameterised, starting at 10 as
    in Swin v2): bounded logits, the temperature alone sets how sharp attention can be."""

    def __init__(self, n_head: int):
        super().__init__()
        self.log_tau = nn.Parameter(torch.full((n_head, 1, 1), math.log(10.0)))

    def _unit(self, q, k):
        return F.normalize(q, dim=-1) * self.log_tau.exp(), F.normalize(k, dim=-1)

    def logits(self, q, k):
        """tau * cos(q, k): (B, h, Tq, d), (B, h, Tk, d) -> (B, h, Tq, Tk)."""
        q, k = self._unit(q, k)
        return q @ k.transpose(-2, -1)

    def sdpa(self, q, k):
        """(tau * unit q, unit k, scale=1) for scaled_dot_product_attention."""
        q, k = self._unit(q, k)
        return q, k, 1.0


class Additive(nn.Module):
    """v^T tanh(W q + U k) (Bahdanau et al.): a one-hidden-layer net per pair, per head. Needs a
    (B, h, T, T, d) intermediate, so it only runs on the explicit path."""

    def __init__(self, n_head: int, head_dim: int):
        super().__init__()
        std = 1.0 / math.sqrt(head_dim)
        self.w_q = nn.Parameter(torch.randn(n_head, head_dim, head_dim) * std)
        self.w_k = nn.Parameter(torch.randn(n_head, head_dim, head_dim) * std)
        self.v = nn.Parameter(torch.randn(n_head, head_dim) * std)

    def logits(self, q, k):
        """v . tanh(W q + U k) per pair: (B, h, Tq, d), (B, h, Tk, d) -> (B, h, Tq, Tk)."""
        hq = (q @ self.w_q).unsqueeze(-2)                   # (B, h, Tq, 1, d)
        hk = (k @ self.w_k).unsqueeze(-3)                   # (B, h, 1, Tk, d)
        hidden = torch.tanh(hq + hk)                         # (B, h, Tq, Tk, d)
        return (hidden * self.v[:, None, None, :]).sum(-1)  # (B, h, Tq, Tk)


def make_score(cfg: GPTConfig) -> nn.Module:
    """The score module chosen by `cfg.score`."""
    if cfg.score == "dot":
        return Dot()
    if cfg.score == "bilinear":
        return Bilinear(cfg.n_head, cfg.head_dim)
    if cfg.score == "cosine":
        return Cosine(cfg.n_head)
    if cfg.score == "additive":
        return Additive(cfg.n_head, cfg.head_dim)
    return ScaledDot()
