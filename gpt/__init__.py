"""The library: models, tokenizers, trainer, sampling. Knows nothing of Slurm, corpora files or reports."""
from __future__ import annotations


def build_model(model_cfg):
    """GPT or LSTM from a model config (told apart by `arch`); the trainer never branches on it.

    Pretrained embeddings (model.embeddings_file), freezing and the padding id are applied here.
    """
    from gpt.embeddings import apply_embeddings
    from gpt.lstm import LSTMLM
    from gpt.model import GPT
    model = {"gpt": GPT, "lstm": LSTMLM}[model_cfg.arch](model_cfg)
    apply_embeddings(model, model_cfg)
    return model
