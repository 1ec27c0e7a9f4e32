"""Epoch-aligned training batches: an ExampleSet read as a torch DataLoader reads it.

    batches = for_training(batches, cfg.train)        # what the trainer draws from
    max_iters, per_epoch = total_iters(cfg, batches)  # 650 epochs x ceil(2,938 / 128) = 14,950

`train.epoch_batches` says how epochs become batches:
- "continuous" (default): a global example counter over per-epoch permutations; epochs run into
  each other, so every batch is full and N x epochs / B batches make the budget.
- "aligned": each epoch is ceil(N / B) batches over that epoch's permutation, the last one holding
  N mod B examples (`DataLoader(shuffle=True, drop_last=False)`).
- "ordered": as aligned, in dataset order every epoch (`DataLoader(shuffle=False)`, CS224n's
  minGPT trainer: its loader passes no shuffle).
Batches stay a pure function of (seed, index): resume inside an epoch is exact. Examples keep the
RNG of continuous mode (seeded from (seed, epoch, example)) and aligned mode its permutation, so
with N divisible by B aligned and continuous give the same batches.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from gpt.batches import Batch, Batches, ExampleSet
from gpt.config import ConfigError, RunConfig, TrainConfig


class EpochBatches:
    """`examples` in epochs of ceil(N / B) batches, the last one partial (see the module doc)."""

    def __init__(self, examples: ExampleSet, shuffle: bool):
        self.examples, self.shuffle = examples, shuffle
        self.splits = examples.splits

    def batches_per_epoch(self, batch_size: int) -> int:
        """ceil(N / batch_size): an integer, as len(DataLoader) is."""
        return math.ceil(self.examples.size("train") / batch_size)

    def _position(self, index: int, batch_size: int) -> tuple[int, int]:
        return divmod(index, self.batches_per_epoch(batch_size))   # (epoch, batch within it)

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        """Batch `index`: rows [k B, min(N, (k+1) B)) of its epoch's order; (B, T) or (N mod B, T)."""
        epoch, k = self._position(index, batch_size)
        n = self.examples.size("train")
        order = self.examples.permutation(seed, epoch) if self.shuffle else np.arange(n)
        rows = order[k * batch_size:(k + 1) * batch_size]
        return self.examples.stack([self.examples.train_example(seed, epoch, int(i)) for i in rows])

    def examples_before(self, index: int, batch_size: int) -> int:
        """N per finished epoch plus the rows of this epoch's earlier batches."""
        epoch, k = self._position(index, batch_size)
        n = self.examples.size("train")
        return epoch * n + min(n, k * batch_size)

    def eval_batches(self, split: str, batch_size: int, max_batches: int) -> Iterator[Batch]:
        """Evaluation is unchanged: the examples of `split` in order."""
        return self.examples.eval_batches(split, batch_size, max_batches)


def for_training(batches: Batches, train: TrainConfig, world_size: int = 1) -> Batches:
    """`batches` as train.epoch_batches asks; ConfigError for data or a setup it cannot apply to."""
    if train.epoch_batches == "continuous":
        return batches
    if isinstance(batches, EpochBatches):
        return batches
    if not isinstance(batches, ExampleSet):
        raise ConfigError(f"train.epoch_batches={train.epoch_batches} needs a dataset of examples "
                          f"(birth places, sequences); this data is a token stream of random "
                          f"windows: use train.epoch_batches=continuous")
    if world_size > 1:
        raise ConfigError(f"train.epoch_batches={train.epoch_batches} gives a partial last batch "
                          f"that does not split evenly over {world_size} ranks: run on one "
                          f"process, or use train.epoch_batches=continuous")
    return EpochBatches(batches, shuffle=train.epoch_batches == "aligned")


def token_counter(batches: Batches, seed: int, batch_size: int, grad_accum: int) -> Callable[[int], int]:
    """step -> target positions in optimizer steps 0 .. step-1, as minGPT counts them: every
    position of every row (its `(y >= 0).sum()` with PAD = 0), so a partial batch counts less."""
    _, y, _ = batches.train_batch(seed, 0, batch_size)   # (B, T): T is fixed per dataset
    positions = int(y.shape[1])
    return lambda step: positions * batches.examples_before(step * grad_accum, batch_size)


def total_iters(cfg: RunConfig, batches: Batches) -> tuple[int, float]:
    """(max_iters, optimizer steps per epoch); train.epochs > 0 sets the budget in epochs."""
    per_epoch = batches.batches_per_epoch(cfg.train.batch_size) / cfg.train.grad_accum
    if cfg.train.epochs > 0:
        return max(1, math.ceil(cfg.train.epochs * per_epoch)), per_epoch
    return cfg.train.max_iters, per_epoch
