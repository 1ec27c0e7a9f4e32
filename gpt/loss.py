"""The language-modelling loss shared by GPT and LSTM: masked mean next-token NLL.

Two reductions (`train.loss_reduction`):
- "token": the mean NLL over every real target token of the batch (the default);
- "sequence": each sequence's mean NLL over its own real tokens, then the mean over the batch
  (IFT6135 A2's loss): short sequences weigh as much as long ones.
Perplexity is exp of whichever mean was used, so the two are not interchangeable.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

REDUCTIONS = ("token", "sequence")
PPL_DEFINITIONS = {
    "token": "exp(mean NLL over all real target tokens)",
    "sequence": "exp(mean over sequences of each sequence's mean NLL over its real tokens)",
}


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None,
            reduction: str = "token") -> torch.Tensor:
    """Mean next-token NLL. logits (B, T, V), targets (B, T), mask (B, T) of 1 = real, or None."""
    B, T, V = logits.shape
    nll = F.cross_entropy(logits.reshape(-1, V).float(), targets.reshape(-1),
                          reduction="none").view(B, T)                # (B, T)
    weights = torch.ones_like(nll) if mask is None else mask.to(nll.dtype)
    if reduction == "token":
        return (nll * weights).sum() / weights.sum().clamp_min(1.0)
    if reduction == "sequence":
        per_seq = (nll * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)   # (B,)
        return per_seq.mean()
    raise ValueError(f"loss reduction {reduction!r} is not one of {', '.join(REDUCTIONS)}")
