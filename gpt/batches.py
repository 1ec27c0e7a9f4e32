"""Batches as pure functions of (seed, step): what makes resume exact.

Two shapes of data, one contract for the trainer:
- `TokenStream`: one long token array per split; a training batch is B random windows of
  block_size + 1 tokens (nanoGPT style). Evaluation walks non-overlapping windows in order.
- `ExampleSet`: N fixed-length examples per split, each (x, y, mask); training walks a fresh
  permutation each epoch (IFT6135 A2's sequences of 256, the birth-place datasets). Examples may be
  random (span corruption): they get an RNG seeded from (seed, epoch, index), so still pure.
  By default a global example counter runs epochs into each other (every batch full);
  `EpochBatches` (train.epoch_batches=aligned|ordered, through `for_training`) reads it as a torch
  DataLoader does instead: ceil(N/B) batches per epoch, the last one holding N mod B examples.

A batch is `(x, y, mask)`: int64 tensors (B, T), (B, T) and a float tensor (B, T) of 1 for real
target tokens, or None when every target counts. Tensors are on the CPU; the trainer moves them.
"""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np
import torch

Batch = tuple[torch.Tensor, torch.Tensor, "torch.Tensor | None"]


class Batches(Protocol):
    """What the trainer draws batches from: a token stream or an example set, split by name."""
    splits: tuple[str, ...]

    def batches_per_epoch(self, batch_size: int) -> float:
        """Batches of `batch_size` sequences that make one pass over the train split."""

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        """Training batch number `index` (counting micro-batches): a pure function of its arguments."""

    def examples_before(self, index: int, batch_size: int) -> int:
        """Sequences in training batches 0 .. index-1 (minGPT's schedule counts their tokens)."""

    def eval_batches(self, split: str, batch_size: int, max_batches: int) -> Iterator[Batch]:
        """Deterministic batches over `split` in order; max_batches=0 means the whole split."""


def seeded_rng(*key: int) -> np.random.Generator:
    """The numpy generator of an integer key such as (seed, epoch, example): what makes batches
    and random examples pure functions of their key."""
    return np.random.default_rng([abs(int(k)) for k in key])


class TokenStream:
    """Contiguous token arrays, e.g. {"train": memmap, "val": memmap}."""

    def __init__(self, splits: dict[str, np.ndarray], block_size: int):
        for name, tokens in splits.items():
            if len(tokens) < block_size + 2:
                raise ValueError(f"split {name!r} has {len(tokens)} tokens, fewer than "
                                 f"block_size+2={block_size + 2}; lower model.block_size")
        self.tokens = splits
        self.splits = tuple(splits)
        self.block_size = block_size

    def batches_per_epoch(self, batch_size: int) -> float:
        """Windows of block_size tokens in one pass over the train split (a float: partial windows count)."""
        return len(self.tokens["train"]) / (batch_size * self.block_size)

    def _windows(self, tokens: np.ndarray, starts: np.ndarray) -> Batch:
        # (B, T+1) gathered window by window: memmaps stay on disk, only the batch is read
        rows = np.stack([np.asarray(tokens[s:s + self.block_size + 1], dtype=np.int64) for s in starts])
        xy = torch.from_numpy(rows)
        return xy[:, :-1], xy[:, 1:], None

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        """Batch `index`: batch_size random windows drawn from (seed, index) alone, so resume is exact."""
        tokens = self.tokens["train"]
        starts = seeded_rng(seed, index).integers(0, len(tokens) - self.block_size - 1, batch_size)
        return self._windows(tokens, starts)

    def examples_before(self, index: int, batch_size: int) -> int:
        """Every batch is full: index x batch_size windows."""
        return index * batch_size

    def eval_batches(self, split: str, batch_size: int, max_batches: int) -> Iterator[Batch]:
        """Consecutive non-overlapping windows over `split`, in order; max_batches=0 = the whole split."""
        tokens = self.tokens[split]
        starts = np.arange(0, len(tokens) - self.block_size - 1, self.block_size)
        if max_batches:
            starts = starts[: max_batches * batch_size]
        for i in range(0, len(starts), batch_size):
            yield self._windows(tokens, starts[i:i + batch_size])


class ExampleSet:
    """Indexed examples; subclasses implement `size(split)` and `example(split, i, rng)`."""

    splits: tuple[str, ...] = ("train", "val")

    def size(self, split: str) -> int:
        """Number of examples in `split`."""
        raise NotImplementedError

    def example(self, split: str, index: int, rng: np.random.Generator):
        """(x, y, mask) as 1-D numpy arrays of equal length T."""
        raise NotImplementedError

    def batches_per_epoch(self, batch_size: int) -> float:
        """Batches of batch_size examples in one pass over the train split."""
        return self.size("train") / batch_size

    def stack(self, items) -> Batch:
        """(x, y, mask) tensors (B, T) of B examples' 1-D arrays."""
        xs, ys, ms = zip(*items)
        return (torch.from_numpy(np.stack(xs).astype(np.int64)),
                torch.from_numpy(np.stack(ys).astype(np.int64)),
                torch.from_numpy(np.stack(ms).astype(np.float32)))

    def train_batch(self, seed: int, index: int, batch_size: int) -> Batch:
        """Batch `index`: examples in a per-epoch permutation drawn from (seed, epoch), so resume is exact."""
        n = self.size("train")
        items = []
        for j in range(batch_size):
            epoch, pos = divmod(index * batch_size + j, n)   # global example counter
            example = int(self.permutation(seed, epoch)[pos])
            items.append(self.train_example(seed, epoch, example))
        return self.stack(items)

    def examples_before(self, index: int, batch_size: int) -> int:
        """Every batch is full (epochs run into each other): index x batch_size examples."""
        return index * batch_size

    def train_example(self, seed: int, epoch: int, example: int):
        """Training example `example` as drawn in `epoch`: its RNG is seeded from (seed, epoch, example)."""
        return self.example("train", example, seeded_rng(seed, epoch, example))

    _perm_cache: tuple[int, int, np.ndarray] | None = None

    def permutation(self, seed: int, epoch: int) -> np.ndarray:
        """The order of the train examples in `epoch`: a permutation drawn from (seed, epoch)."""
        cached = self._perm_cache
        if cached is None or cached[:2] != (seed, epoch):
            cached = (seed, epoch, seeded_rng(seed, epoch, 7919).permutation(self.size("train")))
            self._perm_cache = cached
        return cached[2]

    def eval_batches(self, split: str, batch_size: int, max_batches: int) -> Iterator[Batch]:
        """The examples of `split` in order, batch_size at a time; max_batches=0 = all of them."""
        n = self.size(split)
        if max_batches:
            n = min(n, max_batches * batch_size)
        for start in range(0, n, batch_size):
            yield self.stack([self.example(split, i, seeded_rng(0, i))
                              for i in range(start, min(n, start + batch_size))])


class ArrayExamples(ExampleSet):
    """Fixed examples held as arrays: {split: (x (N, T), y (N, T), mask (N, T))}."""

    def __init__(self, arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]):
        self.arrays = arrays
        self.splits = tuple(arrays)

    def size(self, split: str) -> int:
        """Number of examples in `split` (rows of its arrays)."""
        return len(self.arrays[split][0])

    def example(self, split: str, index: int, rng: np.random.Generator):
        x, y, m = self.arrays[split]
        return x[index], y[index], m[index]
