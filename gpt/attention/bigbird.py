"""BigBird-style block-sparse attention (Zaheer et al., 2020; Practical 4 §3g), made causal.

The sequence is cut into blocks of b = model.sparse_block tokens. Query block i attends to the
key blocks
- window: its own block and the `model.sparse_window` blocks before it (BigBird's sliding window,
  of which a causal model keeps the left half);
- global: the first `model.sparse_global` blocks, which every later block sees and which see
  every block before them (BigBird's ITC global tokens: a global block i < g has all of 0..i in
  its key set);
- random: `model.sparse_random` further blocks drawn from the blocks before i (never later ones),
  a fixed pattern per layer.
Inside that set the usual token-level mask still holds (key position <= query position, so the
own block is lower-triangular): a position never sees the future.

Cost: each query block gathers at most K = g + w + 1 + r key blocks, so logits are
(B, h, T/b, b, K*b): O(T K b d) work and memory, linear in T for fixed b and K, against O(T^2 d)
for full attention. With enough window blocks to cover the sequence it is exactly full causal
softmax attention (tested).

The random pattern of query block i is drawn from a generator seeded with (the layer's seed, i):
it does not depend on T, so any length works, and the seed is a buffer, saved in checkpoints.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gpt.attention.base import Mixer, make_qkv
from gpt.config import GPTConfig


def block_pattern(n_blocks: int, window: int, n_global: int, n_random: int,
                  seed: int) -> list[list[int]]:
    """For each query block i < n_blocks, the sorted key blocks it attends to (all <= i)."""
    pattern = []
    for i in range(n_blocks):
        keys = set(range(min(n_global, i + 1))) | set(range(max(0, i - window), i + 1))
        rest = [j for j in range(i) if j not in keys]       # earlier blocks not yet chosen
        if rest and n_random:
            g = torch.Generator().manual_seed(seed * 1_000_003 + i)
            chosen = torch.randperm(len(rest), generator=g)[:n_random].tolist()
            keys |= {rest[c] for c in chosen}
        pattern.append(sorted(keys))
    return pattern


class BigBirdAttention(Mixer):
    """model.attention=bigbird: window + global + random key blocks, causal, O(T) in length."""

    def __init__(self, cfg: GPTConfig):
        super().__init__(cfg)
        self.qkv = make_qkv(cfg)
        self.add_output(cfg)
        self.block = cfg.sparse_block
        self.window, self.n_global, self.n_random = cfg.sparse_window, cfg.sparse_global, cfg.sparse_random
        # drawn from torch's generator, so a seeded model init gives the same pattern; saved with
        # the weights, and mirrored as a Python int so a forward on CUDA never syncs to read it
        # (on the CPU: a model built on the meta device, to count parameters, still gets a seed)
        self.seed = int(torch.randint(0, 2**31 - 1, (), device="cpu"))
        self.register_buffer("pattern_seed", torch.tensor(self.seed, device="cpu"))
        self.register_load_state_dict_post_hook(BigBirdAttention._reread_seed)
        self.attn_dropout_p = cfg.dropout
        self._tables: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def _reread_seed(module: "BigBirdAttention", _incompatible_keys) -> None:
        module.seed = int(module.pattern_seed)   # a checkpoint's pattern replaces the initial one

    def tables(self, n_blocks: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_blocks, K) key-block index per slot and (n_blocks, K) bool "slot is used"; cached."""
        key = (n_blocks, str(device), self.seed)
        if key not in self._tables:
            pattern = block_pattern(n_blocks, self.window, self.n_global, self.n_random, self.seed)
            K = max(len(p) for p in pattern)
            index = torch.zeros(n_blocks, K, dtype=torch.long)
            used = torch.zeros(n_blocks, K, dtype=torch.bool)
            for i, p in enumerate(pattern):
                index[i, :len(p)], used[i, :len(p)] = torch.tensor(p), True
            self._tables = {key: (index.to(device), used.to(device))}   # one length at a time
        return self._tables[key]

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x (B, T, C) -> (y (B, T, C), weights (B, h, T, T) or None)."""
        q, k, v = (self.split_heads(t) for t in self.qkv(x))           # (B, h, T, d)
        B, h, T, d = q.shape
        b = self.block
        nb = math.ceil(T / b)
        pad = nb * b - T                                                # right-pad to whole blocks
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))         # (B, h, nb*b, d)
        index, used = self.tables(nb, x.device)                         # (nb, K)
        K = index.size(1)
        kb = k.view(B, h, nb, b, d)[:, :, index].reshape(B, h, nb, K * b, d)   # gathered keys
        vb = v.view(B, h, nb, b, d)[:, :, index].reshape(B, h, nb, K * b, d)
        qb = q.view(B, h, nb, b, d)                                     # (B, h, nb, b, d)
        logits = qb @ kb.transpose(-1, -2) / math.sqrt(d)               # (B, h, nb, b, K*b)
        # allowed[i, s, u]: slot used, key position <= query position, key not padding
        key_pos = (index[:, :, None] * b + torch.arange(b, device=x.device)).view(nb, K * b)
        query_pos = torch.arange(nb * b, device=x.device).view(nb, b)
        allowed = ((key_pos[:, None, :] <= query_pos[:, :, None])
                   & used.repeat_interleave(b, dim=1)[:, None, :] & (key_pos[:, None, :] < T))
        weights = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1)
        dropped = F.dropout(weights, self.attn_dropout_p, self.training)
        y = (dropped @ vb).view(B, h, nb * b, d)[:, :, :T]              # (B, h, T, d)
        dense = None
        if return_weights:   # scatter the block weights back to a (T, T) token map
            dense = torch.zeros(B, h, nb, b, nb * b, dtype=weights.dtype, device=x.device)
            dense.scatter_add_(-1, key_pos[:, None, :].expand(B, h, nb, b, K * b), weights)
            dense = dense.view(B, h, nb * b, nb * b)[:, :, :T, :T]
        return self.output(y), dense
