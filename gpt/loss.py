"""The language-modelling loss shared by GPT and LSTM: masked mean next-token NLL."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean next-token NLL over real tokens. logits (B, T, V), targets (B, T), mask (B, T) or None."""
    nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                          reduction="none")                       # (B*T,)
    if mask is None:
        return nll.mean()
    mask = mask.reshape(-1).to(nll.dtype)
    return (nll * mask).sum() / mask.sum().clamp_min(1.0)
