"""Optimizers and learning-rate schedules, built from `OptimConfig` alone.

    opt = make_optimizer(model, cfg.optim, device_type="cpu")
    lr = lr_at(step, cfg.optim, max_iters)
"""
from __future__ import annotations

import math

import torch

from gpt.config import OptimConfig


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay only >=2-D weights (matrices, embeddings); never biases or LayerNorm gains."""
    params = [p for p in model.parameters() if p.requires_grad]   # tied weights appear once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig, device_type: str) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    if cfg.name == "adamw":
        # the fused kernel is CUDA-only and measurably faster there
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=device_type == "cuda")
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, fused=device_type == "cuda")
    momentum = cfg.momentum if cfg.name == "momentum" else 0.0
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=momentum)


def lr_at(step: int, cfg: OptimConfig, max_iters: int) -> float:
    """Learning rate for optimizer step `step` (0-based): constant, or linear warmup + cosine."""
    if cfg.warmup_iters and step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / cfg.warmup_iters
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, max_iters - cfg.warmup_iters)
    progress = min(1.0, (step - cfg.warmup_iters) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
