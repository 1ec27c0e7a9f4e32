"""Kernelised attention: softmax(q k^T) replaced by phi(q) phi(k)^T, so causal attention becomes
running sums over the prefix, linear in T:

    y_t = phi(q_t)^T S_t / (phi(q_t)^T z_t),   S_t = sum_{j<=t} phi(k_j) v_j^T,   z_t = sum_{j<=t} phi(k_j)

- linear: phi = elu + 1 (Katharopoulos et al., 2020, "Transformers are RNNs").
- performer: FAVOR+ positive random features (Choromanski et al., 2021):
  phi(x) = exp(w_i . x - |x|^2 / 2) / sqrt(m) for m orthogonal Gaussian w_i, with x = q / d^(1/4)
  (and k likewise) so that E[phi(q) . phi(k)] = exp(q . k / sqrt(d)), the softmax kernel.

The prefix sums are `cumsum` over time of (B, h, T, m, d) outer products: simple and exactly
causal (the sum at t never touches later positions), at O(T m d) memory per head.
"""
from __future__ import annotations

import math

import torch

from gpt.attention.base import Mixer, causal_mask, elu_feature, make_qkv
from gpt.config import GPTConfig

EPS = 1e-6   # keeps the normaliser away from 0 when every feature underflows


def causal_kernel_attention(phi_q: torch.Tensor, phi_k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """phi_q, phi_k (B, h, T, m) >= 0, v (B, h, T, d) -> (B, h, T, d) by running sums."""
    kv = torch.einsum("bhtm,bhtd->bhtmd", phi_k, v).cumsum(dim=2)    # S_t (B, h, T, m, d)
    z = phi_k.cumsum(dim=2)                                           # z_t (B, h, T, m)
    num = torch.einsum("bhtm,bhtmd->bhtd", phi_q, kv)                 # (B, h, T, d)
    den = (phi_q * z).sum(-1, keepdim=True)                           # (B, h, T, 1)
    return num / (den + EPS)


def kernel_weights(phi_q: torch.Tensor, phi_k: torch.Tensor) -> torch.Tensor:
    """The T x T map the running sums apply, for inspection: (B, h, T, T), rows sum to 1."""
    T = phi_q.size(-2)
    a = (phi_q @ phi_k.transpose(-2, -1)).masked_fill(~causal_mask(T, T, phi_q.device), 0.0)
    return a / (a.sum(-1, keepdim=True) + EPS)


class KernelAttention(Mixer):
    """Shared body: q/k/v projections, feature map (subclass), causal running sums."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.qkv = make_qkv(cfg)
        self.add_output(cfg)

    def features(self, x: torch.Tensor, is_query: bool) -> torch.Tensor:
        """phi(x): (B, h, T, d) -> non-negative features (B, h, T, m) whose dot
        products stand in for exp(q . k); `is_query` tells queries from keys."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), weights (B, h, T, T) or None)."""
        q, k, v = (self.split_heads(t) for t in self.qkv(x))
        dtype = v.dtype   # sums of exponentials: run them in float32 even under bf16 autocast
        with torch.autocast(device_type=x.device.type, enabled=False):
            phi_q, phi_k = self.features(q.float(), True), self.features(k.float(), False)
            y = causal_kernel_attention(phi_q, phi_k, v.float()).to(dtype)
            weights = kernel_weights(phi_q, phi_k) if return_weights else None
        return self.output(y), weights


class LinearAttention(KernelAttention):
    """model.attention=linear: phi = elu + 1."""

    def features(self, x, is_query):
        """phi(x) = elu(x) + 1 (Katharopoulos et al.), elementwise: m = d."""
        return elu_feature(x)


def orthogonal_gaussian(m: int, d: int) -> torch.Tensor:
    """(m, d) rows: blocks of orthonormal directions (QR of a Gaussian) with Gaussian-like norms
    (chi with d degrees of freedom), so each row is marginally N(0, I) yet a block is orthogonal:
    the lower-variance estimator of FAVOR+. Drawn from torch's global generator (the run's seed)."""
    blocks = []
    for _ in range(math.ceil(m / d)):
        qmat, _ = torch.linalg.qr(torch.randn(d, d))
        blocks.append(qmat.T)                                          # rows orthonormal
    directions = torch.cat(blocks)[:m]                                 # (m, d)
    norms = torch.randn(m, d).norm(dim=1, keepdim=True)                # (m, 1)
    return directions * norms


class PerformerAttention(KernelAttention):
    """model.attention=performer: FAVOR+ with `n_features` fixed random features per layer (a
    buffer, saved in checkpoints, drawn at build time from the seed; not redrawn)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.register_buffer("features_w", orthogonal_gaussian(cfg.n_features, cfg.head_dim))

    def features(self, x, is_query):
        """FAVOR+ positive random features exp(w.x - |x|^2/2) / sqrt(m), x scaled by
        d^-1/4 so their products estimate exp(q . k / sqrt(d)); (B, h, T, d) -> (B, h, T, m)."""
        x = x / x.size(-1) ** 0.25                                     # (B, h, T, d)
        proj = x @ self.features_w.T                                   # (B, h, T, m)
        # w.x - |x|^2/2 <= |w|^2/2 ~ d/2, so exp stays finite in float32 without a shift; a
        # data-dependent shift over the sequence would let future tokens touch the past numerically
        return torch.exp(proj - (x * x).sum(-1, keepdim=True) / 2) / math.sqrt(proj.size(-1))
