"""Sequence classification with our GPT as the backbone (UW CSE 447/517 attention assignment §3, without Hugging Face).

    model = GPTClassifier(ClassifierConfig(n_classes=2, vocab_size=65))
    logits, loss = model(idx, labels, mask)      # idx (B, T), labels (B,), mask (B, T) of 1/0

Same contract as the language models (`forward(idx, targets=None, mask=None) -> (logits, loss)`),
so the trainer does not know it is classifying: `targets` are class ids (B,) and `mask` marks the
real tokens (1) against padding (0). Texts are right-padded, and GPT attention is causal, so the
hidden state at the last real token has read the whole text and never a pad: that is the "last"
pooling (GPT-1's classification recipe); "mean" averages the hidden states of the real tokens.
`self.gpt` is a whole GPT, so a language-model run's weights load into it strictly (`load_backbone`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.checkpoint import load_checkpoint, load_model_state
from gpt.config import ClassifierConfig
from gpt.model import GPT


class GPTClassifier(nn.Module):
    """GPT body -> pooled hidden state (B, C) -> linear head (B, n_classes)."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        if cfg.source != "gpt":
            raise ValueError(f"model.source={cfg.source}: Hugging Face classifiers are built by "
                             "jobs/classify.py, not gpt.build_model")
        if cfg.n_classes < 2 or cfg.vocab_size <= 0:
            raise ValueError("ClassifierConfig.n_classes and vocab_size are 0: set them from the data "
                             "(labels, tokenizer) before building")
        self.cfg = cfg
        self.gpt = GPT(dataclasses.replace(cfg.backbone, vocab_size=cfg.vocab_size))
        self.head = nn.Linear(cfg.backbone.n_embd, cfg.n_classes)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)

    def num_params(self) -> int:
        """All parameters, trainable and frozen, tied weights once (apart: gpt.param_counts)."""
        return sum(p.numel() for p in self.parameters())

    def load_backbone(self, checkpoint: Path) -> None:
        """Start the GPT body from a language-model checkpoint (strict: same architecture)."""
        load_model_state(self.gpt, load_checkpoint(checkpoint)["model"], checkpoint)

    def forward(self, idx, targets=None, mask=None):
        """idx (B, T), targets (B,) class ids, mask (B, T) -> (logits (B, n_classes), loss or None)."""
        g = self.gpt
        x = g._embed(idx)
        for block in g.blocks:
            x, _ = block(x)
        hidden = g.ln_f(x)                                                   # (B, T, C)
        real = mask if mask is not None else torch.ones(idx.shape, device=idx.device)
        real = real.to(hidden.dtype)                                         # (B, T)
        if self.cfg.pooling == "last":
            last = (real.sum(1).long() - 1).clamp(min=0)                     # (B,) index of last real token
            pooled = hidden[torch.arange(idx.shape[0], device=idx.device), last]   # (B, C)
        else:
            pooled = (hidden * real.unsqueeze(-1)).sum(1) / real.sum(1, keepdim=True).clamp(min=1)
        logits = self.head(pooled)                                           # (B, n_classes)
        loss = F.cross_entropy(logits.float(), targets) if targets is not None else None
        return logits, loss


def encode_examples(encode, texts: list[str], labels: list[int], block_size: int,
                    pad_id: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids right-padded/truncated to block_size: (x (N, T) int64, y (N,) int64, mask (N, T)).

    `gpt.batches.ArrayExamples` of these gives the trainer batches (x (B, T), labels (B,), mask (B, T)).
    """
    x = np.full((len(texts), block_size), pad_id, dtype=np.int64)
    mask = np.zeros((len(texts), block_size), dtype=np.float32)
    for i, text in enumerate(texts):
        ids = list(encode(text))[:block_size] or [pad_id]   # an empty text still has one position
        x[i, :len(ids)] = ids
        mask[i, :len(ids)] = 1.0
    return x, np.asarray(labels, dtype=np.int64), mask
