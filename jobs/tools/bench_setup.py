"""What `bench train` and its data-parallel run (jobs/tools/bench_scaling.py) both build: the
benchmarked model and batch, the throw-away run's config, and random tokens to train on.
Both bench modules import this one; neither imports the other's internals.
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from gpt.batches import TokenStream
from gpt.config import MODEL_PRESETS, GPTConfig, OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.overrides import apply_overrides

# (model config, batch size): the shapes the figures in docs/results/ are quoted at
PRESETS: dict[str, tuple[GPTConfig, int]] = {
    # GPT-2 small as nanoGPT trains it: vocab padded to 50304, block 1024, micro-batch 12
    "gpt2-124m": (GPTConfig(vocab_size=50304, n_layer=12, n_head=12, n_embd=768, block_size=1024,
                            dropout=0.0, bias=True), 12),
    # nanoGPT config/train_shakespeare_char.py: 6 x 384, block 256, batch 64, dropout 0.2
    "shakespeare-char": (dataclasses.replace(MODEL_PRESETS["shakespeare-char"], vocab_size=65), 64),
    # JHU hw5: gpt-nano, block 32, batch 256, BPE vocabulary of 8192
    "jhu-nano": (model_preset("gpt-nano", block_size=32, vocab_size=8192, dropout=0.1), 256),
}


def model_and_batch(args: argparse.Namespace) -> tuple[GPTConfig, int]:
    """The benchmarked model config and batch size from --preset, or --model and its flags."""
    if args.preset:
        cfg, batch = PRESETS[args.preset]
    else:
        cfg, batch = model_preset(args.model, vocab_size=args.vocab_size, dropout=0.0), 64
    if args.block_size:
        cfg = dataclasses.replace(cfg, block_size=args.block_size)
    if getattr(args, "model_overrides", ()):   # an attention variant (jobs/ablations.py)
        cfg = apply_overrides(RunConfig(model=cfg), list(args.model_overrides)).model
    return cfg, args.batch_size or batch


def run_config(model_cfg, batch: int, args: argparse.Namespace) -> RunConfig:
    """The throw-away run's config: one warm-up log window, then enough timed windows for args.steps."""
    window = max(1, args.warmup)
    iters = window * (1 + -(-args.steps // window))   # one warm-up window + timed windows
    return RunConfig(name="bench", device=args.device, model=model_cfg,
                     optim=OptimConfig(lr=1e-4, warmup_iters=0),
                     train=TrainConfig(max_iters=iters, batch_size=batch, eval_interval=iters,
                                       eval_iters=1, log_interval=window, compile=args.compile,
                                       progress="off"))


def random_tokens(model_cfg, batch: int) -> TokenStream:
    """Random token ids, enough for a few batches (the model's speed does not depend on them)."""
    n = max(4 * batch * model_cfg.block_size, 4 * model_cfg.block_size)
    tokens = np.random.default_rng(0).integers(0, model_cfg.vocab_size, n, dtype=np.int64)
    return TokenStream({"train": tokens, "val": tokens[: 2 * model_cfg.block_size + 2]},
                       model_cfg.block_size)
