"""CS224n birth-place settings shared by the pretrain, finetune, evaluate and london_baseline jobs.

    from jobs.cs224n import FINETUNE_DATA, SMOKE_MODEL, cs224n_optim

Facts of the course's run.py (minGPT TrainerConfig) and the smoke model every stage shares, so
that a job never imports another job for them (jobs are leaves).
"""
from __future__ import annotations

from gpt.config import DataConfig, OptimConfig, model_preset
from jobs.birthplace_data import FINETUNE_DATASET, PRETRAIN_DATASET, WIKI

# block_size 80 (not smaller): finetuning needs question + place + 2 symbols (<= 70) to fit
SMOKE_MODEL = model_preset("gpt-nano", block_size=80, dropout=0.0)
# "val" is wiki.txt too: pretraining memorises it (see gpt.birthplace.CharCorruptionDataset)
PRETRAIN_DATA = DataConfig(dataset=PRETRAIN_DATASET, tokenizer="char", train_split=WIKI, val_split=WIKI)
FINETUNE_DATA = DataConfig(dataset=FINETUNE_DATASET, tokenizer="char",
                           train_split="birth_places_train.tsv", val_split="birth_dev.tsv")
WIKI_VOCABULARY = "the wiki.txt vocabulary"   # whose vocabulary (jobs.common.with_vocab's message)

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
