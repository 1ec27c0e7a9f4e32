"""full_run: train, evaluate, plot the curves, sample (a GPU full run; char models at six temperatures).

    python main.py full_run --preset smoke                        # < 1 min on a laptop CPU
    python main.py full_run                                       # default: char GPT, tiny shakespeare
    python main.py full_run --preset shakespeare_char device=cuda # nanoGPT's settings, on a GPU

Writes into runs/full_run/<name>-<hash8>/: config.json, env.json, metrics.jsonl, checkpoints/,
loss.png, ppl.png, samples/ and summary.json. Rerunning the same command resumes or returns.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from gpt.config import (DataConfig, OptimConfig, RunConfig, SampleConfig, TrainConfig,
                        model_preset)
from jobs.context import JobContext
from jobs.stage import train_and_sample

JOB = "full_run"
# the char-level GPT assignment: the temperatures a character model is sampled at
CHAR_SAMPLES = SampleConfig(prompts=("\n",), temperatures=(1.5, 1.0, 0.8, 0.5, 0.1, 0.0001),
                            max_new_tokens=300)
# the GPT-from-scratch course: four prefixes, 30 tokens, top-k 40
PREFIX_SAMPLES = SampleConfig(prompts=(" The best perks of living on the east",
                                       " It is a truth universally acknowledged",
                                       " The best way to learn", " According to the latest research"),
                              temperatures=(1.0,), max_new_tokens=30, top_k=40)


def default() -> RunConfig:
    """Char GPT (4 layers, 4 heads, 64 dims) on tiny shakespeare, sized for a 2-core CPU."""
    return RunConfig(name="shakespeare-small",
                     model=model_preset("gpt-micro", n_embd=64, block_size=64, dropout=0.0),
                     optim=OptimConfig(lr=3e-3, schedule="cosine", warmup_iters=50, min_lr=3e-4),
                     train=TrainConfig(max_iters=1000, batch_size=32, eval_interval=250, eval_iters=20,
                                       log_interval=50),
                     sample=CHAR_SAMPLES)


def smoke() -> RunConfig:
    """Tiny everything: finishes in well under a minute on CPU; for tests and CI."""
    return RunConfig(name="smoke", model=model_preset("gpt-nano", block_size=32, dropout=0.0),
                     optim=OptimConfig(lr=3e-3),
                     train=TrainConfig(max_iters=60, batch_size=16, eval_interval=30, eval_iters=4,
                                       log_interval=10),
                     sample=dataclasses.replace(CHAR_SAMPLES, temperatures=(1.0, 0.1),
                                                max_new_tokens=40))


def shakespeare_char() -> RunConfig:
    """nanoGPT config/train_shakespeare_char.py: 6/6/384, block 256, dropout 0.2, 5000 iters."""
    return RunConfig(name="shakespeare-char", model=model_preset("shakespeare-char"),
                     optim=OptimConfig(lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1, schedule="cosine",
                                       warmup_iters=100, min_lr=1e-4),
                     train=TrainConfig(max_iters=5000, batch_size=64, eval_interval=250, eval_iters=200,
                                       log_interval=50),
                     sample=CHAR_SAMPLES)


def spec_a() -> RunConfig:
    """The GPT-from-scratch course's defaults (gpt-nano, block 32, batch 256, 20k iters) on WikiText-2 with byte BPE.

    The JHU hw5 setting (`--preset jhu_hw5`; `spec_a` is its old name). WikiText-2 is downloaded
    on first use; offline, fetch it once with `python data.py download wikitext2`, or train on the
    splits at hand: `data.train_split=valid data.val_split=test`.
    """
    return RunConfig(name="wikitext2-nano", model=model_preset("gpt-nano", block_size=32, dropout=0.1),
                     data=DataConfig(dataset="wikitext2", tokenizer="bpe", bpe_vocab_size=8192),
                     optim=OptimConfig(lr=5e-4, betas=(0.9, 0.95), weight_decay=0.1, grad_clip=1.0),
                     train=TrainConfig(max_iters=20000, batch_size=256, eval_interval=1000,
                                       eval_iters=50, log_interval=100),
                     sample=PREFIX_SAMPLES)


def jhu_wt103() -> RunConfig:
    """The JHU hw5 setting on what the course used: WikiText-103 (raw) with GPT-2's own BPE (50,257 ids).

    Downloads WikiText-103 (192 MB) and GPT-2's BPE files on first use (offline: `python data.py
    download wikitext103` and `python data.py download gpt2` once, where there is internet).
    """
    return dataclasses.replace(spec_a(), name="jhu-wt103-gpt2",
                               data=DataConfig(dataset="wikitext103", tokenizer="gpt2"))


PRESETS: dict[str, Callable[[], RunConfig]] = {
    "default": default, "smoke": smoke, "shakespeare_char": shakespeare_char,
    "jhu_hw5": spec_a, "spec_a": spec_a,   # spec_a: the old name, kept (same config, same run dirs)
    "jhu_wt103": jhu_wt103,
}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Train (or resume), then write loss.png, ppl.png and samples; returns the summary."""
    return train_and_sample(JOB, cfg, ctx)
