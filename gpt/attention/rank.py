"""How low-rank are the attention maps of a trained model? (JHU hw5 §4.3)

    results = rank_k_losses(model, batches, ks=(1, 2, 4, 8, 16), batch_size=8, max_batches=4)
    stats = map_ranks(model, batches, batch_size=8, max_batches=4)

- rank-k evaluation: every softmax attention map P (B, h, T, T) is replaced by its best rank-k
  approximation U_k S_k V_k^T (truncated SVD, Eckart-Young) on the explicit path, then re-masked
  (entries above the diagonal zeroed) so the approximation cannot read future tokens; the val
  loss is reported against k. For k >= T nothing is truncated: the loss equals the full model's.
- effective rank of a map, two definitions reported side by side:
  * "entropy": exp(H(p)) with p_i = s_i / sum_j s_j over its singular values s (Roy & Vetterli,
    2007): a real number in [1, T], 1 for a rank-1 map, T for a flat spectrum;
  * "energy90": the number of singular values needed to hold 90% of sum s_i^2 (the squared
    Frobenius norm), i.e. the smallest k whose rank-k approximation has relative error^2 <= 10%.
Only softmax mixers (model.attention = fused | explicit) have maps to replace.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch

from gpt.attention.base import causal_mask
from gpt.attention.softmax import SoftmaxAttention
from gpt.trainer import evaluate

ENERGY = 0.9


def rank_k(weights: torch.Tensor, k: int) -> torch.Tensor:
    """Best rank-k approximation of each (T, T) map in weights (..., T, T), re-masked causally."""
    T = weights.size(-1)
    U, S, Vh = torch.linalg.svd(weights.float())                    # (..., T, T), (..., T), (..., T, T)
    k = min(k, T)
    approx = (U[..., :k] * S[..., None, :k]) @ Vh[..., :k, :]       # (..., T, T)
    return approx.masked_fill(~causal_mask(T, T, weights.device), 0.0).to(weights.dtype)


def effective_ranks(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(entropy effective rank, energy90 count) per map of weights (..., T, T); both (...,)."""
    S = torch.linalg.svdvals(weights.float())                       # (..., T), descending
    p = S / S.sum(-1, keepdim=True)
    entropy = torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum(-1))
    energy = (S ** 2).cumsum(-1) / (S ** 2).sum(-1, keepdim=True)
    count = (energy < ENERGY - 1e-6).sum(-1) + 1                    # first k reaching 90%
    return entropy, count.float()


def _softmax_layers(model) -> list[SoftmaxAttention]:
    layers = [m for m in model.modules() if isinstance(m, SoftmaxAttention)]
    if not layers:
        raise ValueError("the model has no softmax attention maps (model.attention must be "
                         "fused or explicit)")
    return layers


@contextlib.contextmanager
def replaced_maps(model, transform: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """Within the block, every softmax layer runs its explicit path with maps -> transform(maps)."""
    layers = _softmax_layers(model)
    try:
        for layer in layers:
            layer.map_transform = transform
        yield
    finally:
        for layer in layers:
            layer.map_transform = None


def rank_k_losses(model, batches, ks: list[int], batch_size: int, max_batches: int,
                  split: str = "val") -> dict:
    """{"full": loss, "rank_k": {k: loss}} of `split` with every map replaced by its rank-k SVD."""
    device = next(model.parameters()).device
    plain = contextlib.nullcontext   # no autocast: SVD wants float32 and the comparison exact
    full = evaluate(model, batches, split, batch_size, max_batches, device, plain)["loss"]
    out = {}
    for k in ks:
        with replaced_maps(model, lambda w, k=k: rank_k(w, k)):
            out[k] = evaluate(model, batches, split, batch_size, max_batches, device, plain)["loss"]
    model.eval()   # evaluate() leaves the model in train mode
    return {"full": full, "rank_k": out}


@torch.no_grad()
def map_ranks(model, batches, batch_size: int, max_batches: int, split: str = "val") -> dict:
    """Mean effective ranks per layer and head over the maps of `split`'s batches:
    {"entropy": [[float per head] per layer], "energy90": [...], "T": sequence length}."""
    _softmax_layers(model)
    device = next(model.parameters()).device
    sums, n, T = None, 0, 0
    for x, _, _ in batches.eval_batches(split, batch_size, max_batches):
        maps = model.attention_maps(x.to(device))                   # per layer (B, h, T, T)
        stats = [effective_ranks(w) for w in maps]
        batch = torch.stack([torch.stack([e.sum(0), c.sum(0)]) for e, c in stats])  # (L, 2, h)
        sums = batch if sums is None else sums + batch
        n, T = n + x.size(0), x.size(1)
    means = (sums / max(n, 1)).tolist()
    return {"entropy": [layer[0] for layer in means], "energy90": [layer[1] for layer in means],
            "T": T, "maps_per_head": n, "energy_fraction": ENERGY}
