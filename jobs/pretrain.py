"""pretrain: span-corruption pretraining on wiki.txt (CS224n birth places, `run.py pretrain`).

    python main.py pretrain --preset smoke                    # < 1 min on a laptop CPU
    python main.py pretrain                                   # CS224n: 4x8x256, 650 epochs = 14,950 steps
    python main.py pretrain train.epochs=20 device=cpu        # a shortened pretraining
    python main.py pretrain --print-run-dir                   # where it writes (for chained jobs)

Writes runs/pretrain/<name>-<hash8>/ (config.json, tokenizer.json, metrics.jsonl, checkpoints/,
loss.png, summary.json). `finetune init_from=<that dir>` starts from its checkpoints/best.pt.
The vocabulary is always wiki.txt's characters plus PAD and MASK, so every stage shares it.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from gpt.birthplace import CharCorruptionDataset
from gpt.config import OptimConfig, RunConfig, TrainConfig, model_preset
from jobs.birthplace_data import read_documents, resolve_file, vocabulary
from jobs.common import run_dir_of, with_vocab
from jobs.context import JobContext
from jobs.cs224n import PRETRAIN_DATA, SMOKE_MODEL, WIKI_VOCABULARY, cs224n_optim
from jobs.errors import UserError
from jobs.stage import train_stage

JOB = "pretrain"


def default() -> RunConfig:
    """CS224n: 650 epochs of 2,938 documents, batch 128, lr 6e-3, minGPT's token schedule.

    Epochs are read as its DataLoader reads them (train.epoch_batches=ordered): documents in
    file order, 23 batches an epoch, the last of 122, so 650 epochs are 14,950 steps.
    The rate warms up over 10,240 tokens (under one step: the first steps run at the full
    rate), follows a cosine that reaches its 10 % floor at 200 epochs' worth of tokens and,
    as the original (progress is not clipped), climbs back after ~400 epochs.
    `--preset cosine` is the toolkit's own choice: an iteration cosine over the whole budget
    to 10 %, which ends at the floor instead of climbing back to the full rate.
    """
    return RunConfig(name="cs224n", model=model_preset("cs224n"), data=PRETRAIN_DATA,
                     optim=cs224n_optim(6e-3),
                     train=TrainConfig(epochs=650, batch_size=128, eval_interval=500, eval_iters=8,
                                       log_interval=50, epoch_batches="ordered"))


def cosine() -> RunConfig:
    """CS224n's model, budget and decay groups with the toolkit's iteration cosine (no climb
    back): only the schedule differs from `default`."""
    return dataclasses.replace(default(), name="cs224n-cosine", optim=OptimConfig(
        lr=6e-3, betas=(0.9, 0.95), weight_decay=0.1, grad_clip=1.0, schedule="cosine",
        warmup_iters=20, min_lr=6e-4, decay_scope="except_biases"))


def smoke() -> RunConfig:
    """Tiny model, one epoch: seconds on a CPU; for tests and the smoke chain.

    SMOKE_MODEL's block_size 80 (not smaller) fits finetuning's question + place + 2 symbols.
    The schedule is CS224n's (mingpt), its token counts scaled to this budget.
    """
    return RunConfig(name="smoke", model=SMOKE_MODEL,
                     data=PRETRAIN_DATA,
                     optim=OptimConfig(lr=3e-3, schedule="mingpt", warmup_tokens=64 * 79 * 5,
                                       final_tokens=64 * 79 * 40),
                     train=TrainConfig(epochs=1, batch_size=64, eval_interval=50, eval_iters=2,
                                       log_interval=10))


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": default, "cosine": cosine, "smoke": smoke}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Pretrain on data.train_split (wiki.txt) with span corruption; returns the summary."""
    run_dir = run_dir_of(JOB, cfg, ctx)   # named by the config as given, like --print-run-dir
    tokenizer = vocabulary(ctx)
    keep_empty = cfg.data.text_fidelity == "original"
    documents = read_documents(resolve_file(ctx, cfg.data.train_split), keep_empty)
    try:
        batches = CharCorruptionDataset(documents, tokenizer, cfg.model.block_size, keep_empty)
    except ValueError as exc:
        raise UserError(f"pretrain data {cfg.data.train_split}: {exc}") from None
    return train_stage(with_vocab(cfg, tokenizer, WIKI_VOCABULARY), ctx, run_dir, batches, tokenizer)
