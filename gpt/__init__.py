"""The library: models, tokenizers, trainer, sampling. Knows nothing of Slurm, corpora files or reports."""
from __future__ import annotations


def build_model(model_cfg):
    """GPT, LSTM or GPT classifier from a model config (told apart by `arch`); the trainer never
    branches on it. Hugging Face classifiers (model.source=hf:...) are built by jobs/classify.py.

    Pretrained embeddings (model.embeddings_file), freezing and the padding id are applied here.
    """
    from gpt.classifier import GPTClassifier
    from gpt.embeddings import apply_embeddings
    from gpt.lstm import LSTMLM
    from gpt.model import GPT
    from gpt.perceiver_model import CS224nPerceiverGPT
    model = {"gpt": GPT, "lstm": LSTMLM, "classifier": GPTClassifier}[model_cfg.arch]
    if getattr(model_cfg, "perceiver_layout", "") == "cs224n":   # a whole-model layout, not a mixer
        model = CS224nPerceiverGPT
    model = model(model_cfg)
    if model_cfg.arch != "classifier":   # ClassifierConfig has no embeddings options
        apply_embeddings(model, model_cfg)
    return model
