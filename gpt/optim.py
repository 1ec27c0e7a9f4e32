"""Optimizers and learning-rate schedules, built from `OptimConfig` alone.

    opt = make_optimizer(model, cfg.optim, device_type="cpu")
    lr = lr_at(step, cfg.optim, max_iters, tokens_before=lambda s: s * batch_size * T)

`schedule=mingpt` is CS224n's minGPT trainer: the rate is set *after* each optimizer step from
the tokens seen so far (every target position of every batch counts: with PAD = 0 its
`(y >= 0).sum()` is B x T, less for a partial last batch), so step 0 runs at the full rate and
step s at lr x mingpt_multiplier(tokens_before(s)) (gpt.epoch_batches.token_counter).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from gpt.config import OptimConfig


def _is_bias(name: str) -> bool:
    """A bias by its own name: `bias`, or an LSTM's `bias_ih_l0` / `bias_hh_l0`."""
    return "bias" in name.rsplit(".", 1)[-1]


def param_groups(model: torch.nn.Module, weight_decay: float, scope: str = "matrices") -> list[dict]:
    """scope "matrices": decay only >=2-D weights (matrices, embeddings), never biases or
    LayerNorm gains; "all": every parameter, as `optim.AdamW(model.parameters(), ...)` does;
    "except_biases": every parameter but biases, LayerNorm gains included (CS224n's trainer:
    no decay for names containing "bias" or "LayerNorm.weight", and its norms are ln1/ln2/ln_f)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]   # tied: once
    params = [p for _, p in named]
    if scope == "all":
        return [{"params": params, "weight_decay": weight_decay}]
    if scope == "except_biases":
        decay = [p for n, p in named if not _is_bias(n)]
        no_decay = [p for n, p in named if _is_bias(n)]
    else:
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig, device_type: str) -> torch.optim.Optimizer:
    """The optimizer `cfg.name` names over `model`'s parameters, weight decay applied per
    `cfg.decay_scope` (see param_groups); the learning rate is set per step by lr_at."""
    groups = param_groups(model, cfg.weight_decay, cfg.decay_scope)
    if cfg.name == "adamw":
        # the fused kernel is CUDA-only and measurably faster there
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=device_type == "cuda")
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, fused=device_type == "cuda")
    if cfg.name == "adagrad":   # torch defaults (eps 1e-10, no lr decay), as torch.optim users get
        return torch.optim.Adagrad(groups, lr=cfg.lr)
    momentum = cfg.momentum if cfg.name == "momentum" else 0.0
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=momentum)


def mingpt_multiplier(tokens: float, warmup_tokens: int, final_tokens: int) -> float:
    """minGPT's lr multiplier after `tokens` tokens: linear warmup, then a cosine floored at 0.1.

    Progress is not clipped at 1: past final_tokens the cosine rises again (to 1 at
    2 x final_tokens - warmup_tokens), as in the original.
    """
    if tokens < warmup_tokens:
        return tokens / max(1, warmup_tokens)
    progress = (tokens - warmup_tokens) / max(1, final_tokens - warmup_tokens)
    return max(0.1, 0.5 * (1.0 + math.cos(math.pi * progress)))


def lr_at(step: int, cfg: OptimConfig, max_iters: int,
          tokens_before: Callable[[int], int] | None = None) -> float:
    """Learning rate for optimizer step `step` (0-based): constant, warmup + cosine, or mingpt
    (which needs `tokens_before`: step -> tokens counted in steps 0 .. step-1)."""
    if cfg.schedule == "mingpt":
        if tokens_before is None:
            raise ValueError("optim.schedule=mingpt needs tokens_before (the tokens counted per step)")
        if step == 0:   # the optimizer starts at the full rate; the first update comes after it
            return cfg.lr
        return cfg.lr * mingpt_multiplier(tokens_before(step), cfg.warmup_tokens, cfg.final_tokens)
    if cfg.warmup_iters and step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / cfg.warmup_iters
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, max_iters - cfg.warmup_iters)
    progress = min(1.0, (step - cfg.warmup_iters) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
