"""The library: models, tokenizers, trainer, sampling. Knows nothing of Slurm, corpora files or reports."""
from __future__ import annotations


def build_model(model_cfg):
    """GPT or LSTM from a model config (told apart by `arch`); the trainer never branches on it."""
    from gpt.lstm import LSTMLM
    from gpt.model import GPT
    return {"gpt": GPT, "lstm": LSTMLM}[model_cfg.arch](model_cfg)
