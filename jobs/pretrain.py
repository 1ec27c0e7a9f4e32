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
from pathlib import Path
from typing import Callable

from gpt.batches import ExampleSet
from gpt.birthplace import CharCorruptionDataset
from gpt.config import DataConfig, OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.tokenizer import CharTokenizer, save_tokenizer
from gpt.trainer import train
from jobs.birthplace_data import PRETRAIN_DATASET, WIKI, read_documents, resolve_file, vocabulary
from jobs.common import run_dir_of, write_env
from jobs.errors import UserError
from jobs.context import JobContext
from reports.curves import write_run_plots

JOB = "pretrain"
# "val" is wiki.txt too: pretraining memorises it (see gpt.birthplace.CharCorruptionDataset)
SMOKE_MODEL = model_preset("gpt-nano", block_size=80, dropout=0.0)
PRETRAIN_DATA = DataConfig(dataset=PRETRAIN_DATASET, tokenizer="char", train_split=WIKI, val_split=WIKI)


# CS224n run.py: warmup_tokens=512*20, final_tokens=200*len(pretrain_dataset)*block_size, where
# len(pretrain_dataset) is len(wiki.txt.split("\n")) = 2,938 documents (the last one empty) of
# the wiki.txt in data.SOURCES (checksummed)
CS224N_WARMUP_TOKENS = 512 * 20
CS224N_DOCUMENTS = 2938
CS224N_FINAL_TOKENS = 200 * CS224N_DOCUMENTS * 128


def cs224n_optim(lr: float) -> OptimConfig:
    """CS224n's minGPT TrainerConfig: AdamW (0.9, 0.95), decay 0.1 on every parameter but the
    biases (LayerNorm gains too: its no-decay names match none of them), clip 1.0, token schedule."""
    return OptimConfig(lr=lr, betas=(0.9, 0.95), weight_decay=0.1, grad_clip=1.0, schedule="mingpt",
                       warmup_tokens=CS224N_WARMUP_TOKENS, final_tokens=CS224N_FINAL_TOKENS,
                       decay_scope="except_biases")


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

    block_size 80 (not smaller): finetuning needs question + place + 2 symbols (<= 70) to fit.
    The schedule is CS224n's (mingpt), its token counts scaled to this budget.
    """
    return RunConfig(name="smoke", model=SMOKE_MODEL,
                     data=PRETRAIN_DATA,
                     optim=OptimConfig(lr=3e-3, schedule="mingpt", warmup_tokens=64 * 79 * 5,
                                       final_tokens=64 * 79 * 40),
                     train=TrainConfig(epochs=1, batch_size=64, eval_interval=50, eval_iters=2,
                                       log_interval=10))


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": default, "cosine": cosine, "smoke": smoke}


def with_vocab(cfg: RunConfig, tokenizer: CharTokenizer) -> RunConfig:
    """cfg with model.vocab_size taken from the tokenizer (0 in the config means "from the data")."""
    vocab = tokenizer.vocab_size
    if cfg.model.vocab_size not in (0, vocab):
        raise UserError(f"model.vocab_size={cfg.model.vocab_size} but the wiki.txt vocabulary has "
                        f"{vocab} symbols; leave model.vocab_size=0")
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, vocab_size=vocab))


def train_stage(cfg: RunConfig, run_dir: Path, tokenizer: CharTokenizer, batches: ExampleSet,
                ctx: JobContext) -> dict:
    """Train in run_dir (idempotent: done -> summary, checkpoint -> resume), then plot the curves."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / "tokenizer.json").exists():
        save_tokenizer(tokenizer, run_dir / "tokenizer.json")
    write_env(run_dir, cfg.device, ctx.attempt)
    summary = train(with_vocab(cfg, tokenizer), run_dir, batches, stop=ctx.stop, attempt=ctx.attempt)
    if summary.get("status") == "completed":
        write_run_plots(run_dir)
    return {**summary, "run_dir": str(run_dir)}


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
    return train_stage(cfg, run_dir, tokenizer, batches, ctx)
