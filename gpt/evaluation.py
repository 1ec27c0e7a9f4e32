"""Evaluation: mean NLL over a split (perplexity = exp of it), and the loss of one batch."""
from __future__ import annotations

import torch

from gpt import distributed
from gpt.batches import Batches
from gpt.loss import lm_loss


def batch_loss(model, x, y, mask, reduction: str = "token"):
    """The training/eval loss of one batch under train.loss_reduction (see gpt.loss)."""
    if reduction == "token":
        return model(x, y, mask)[1]
    logits, _ = model(x)
    return lm_loss(logits, y, mask, reduction)


@torch.no_grad()
def evaluate(model, batches: Batches, split: str, batch_size: int, max_batches: int,
             device: torch.device, autocast, reduction: str = "token",
             world: distributed.World | None = None) -> dict:
    """{"loss": mean NLL, "accuracy": top-1 accuracy} over the counted targets of `split`.

    The loss is token-weighted ("token") or sequence-weighted ("sequence", train.loss_reduction).
    A mask shaped like the targets says which count (language models: perplexity = exp(loss),
    accuracy = next-token accuracy); otherwise every target counts once (a classifier's mask
    marks its input tokens, its targets are one label per sequence).
    With a `world` of W ranks, rank r evaluates batches r, r+W, ... and the totals are summed over
    the ranks, so every rank gets the figures one process would (up to float summation order).
    """
    world = world or distributed.World()
    model.eval()
    total_nll, total_loss_weight, total_correct, total_count = 0.0, 0.0, 0.0, 0.0
    for i, (x, y, mask) in enumerate(batches.eval_batches(split, batch_size, max_batches)):
        if i % world.world_size != world.rank:
            continue
        x, y = x.to(device), y.to(device)
        mask = mask.to(device) if mask is not None else None
        with autocast():
            logits, loss = model(x, y, mask)
            if reduction == "sequence":
                loss = lm_loss(logits, y, mask, reduction)
        weight = mask if mask is not None and mask.shape == y.shape else torch.ones(y.shape, device=device)
        count = float(weight.sum())
        loss_weight = float(y.size(0)) if reduction == "sequence" else count
        total_nll += float(loss) * loss_weight
        total_loss_weight += loss_weight
        total_correct += float(((logits.argmax(-1) == y).float() * weight).sum())
        total_count += count
    model.train()
    if world.distributed:
        totals = torch.tensor([total_nll, total_loss_weight, total_correct, total_count],
                              dtype=torch.float64, device=device)
        total_nll, total_loss_weight, total_correct, total_count = distributed.sum_(world, totals).tolist()
    return {"loss": total_nll / max(total_loss_weight, 1.0), "accuracy": total_correct / max(total_count, 1.0)}
