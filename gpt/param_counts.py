"""Parameter counts of a model, trainable and frozen apart (IFT6135's frozen GPT-1 embeddings:
`model.freeze_embeddings=true` keeps ~31M of a model's parameters fixed, which a single total
would count as if they were trained).

    param_counts(model)   # {"n_params": 1_234, "n_trainable": 1_000, "n_frozen": 234}

`model.parameters()` yields a tied tensor once (GPT's head shares wte), so it is counted once.
"""
from __future__ import annotations


def param_counts(model) -> dict[str, int]:
    """All parameters of `model` (an nn.Module), those with requires_grad, and the rest."""
    trainable = frozen = 0
    for p in model.parameters():
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return {"n_params": trainable + frozen, "n_trainable": trainable, "n_frozen": frozen}


def describe(counts: dict[str, int]) -> str:
    """'1,234 parameters (1,000 trainable, 234 frozen)' for logs and cards."""
    return (f"{counts['n_params']:,} parameters ({counts['n_trainable']:,} trainable, "
            f"{counts['n_frozen']:,} frozen)")
