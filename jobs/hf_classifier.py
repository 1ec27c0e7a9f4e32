"""Hugging Face encoders as classifiers for `classify` (model.source=hf:NAME): the optional extra.

    model, encode, pad_id = load_hf_classifier("roberta-base", n_classes=2)

The only importer of `transformers` (an optional extra: `pip install -r requirements-extra.txt`);
jobs/classify.py imports this module only for hf: sources, so the core never needs it. Weights
and tokenizer come from a local folder or the local HF cache, never the network (compute nodes
are offline): a missing model is a one-line error saying how to fetch it once on the login node.
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

from jobs.errors import UserError

try:
    import transformers
except ImportError:
    raise UserError("model.source=hf:... needs the optional `transformers` package: "
                    "pip install -r requirements-extra.txt (or pip install transformers)") from None


class HFClassifier(nn.Module):
    """AutoModelForSequenceClassification behind the toolkit's model contract."""

    def __init__(self, hf_model):
        super().__init__()
        self.hf = hf_model

    def num_params(self) -> int:
        """All parameters, trainable and frozen (apart: gpt.param_counts)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, mask=None):
        """idx (B, T), targets (B,), mask (B, T) of real tokens -> (logits (B, n_classes), loss)."""
        attention = mask.long() if mask is not None else None
        logits = self.hf(input_ids=idx, attention_mask=attention).logits      # (B, n_classes)
        loss = F.cross_entropy(logits.float(), targets) if targets is not None else None
        return logits, loss


def _how_to_fetch(name: str) -> str:
    return (f"fetch it once where there is internet: python -c \"from transformers import AutoTokenizer, "
            f"AutoModelForSequenceClassification as M; AutoTokenizer.from_pretrained('{name}'); "
            f"M.from_pretrained('{name}')\" (cache: $HF_HOME, default ~/.cache/huggingface), or pass "
            f"model.source=hf:/path/to/a/saved/folder")


def load_hf_classifier(name: str, n_classes: int, block_size: int):
    """(HFClassifier with a fresh n_classes head, encode(text) -> ids, pad id), local files only."""
    source = str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
    transformers.logging.set_verbosity_error()   # "newly initialized head" is expected here
    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
        hf_model = transformers.AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=n_classes, local_files_only=True, ignore_mismatched_sizes=True)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model.source=hf:{name}: no usable local copy ({first}); "
                        f"{_how_to_fetch(name)}") from None
    if tokenizer.pad_token_id is None:
        raise UserError(f"model.source=hf:{name}: its tokenizer has no pad token; pick an encoder "
                        "with one (BERT, RoBERTa, ...)")
    max_positions = getattr(hf_model.config, "max_position_embeddings", None)
    if max_positions and block_size > max_positions:
        raise UserError(f"model.block_size={block_size} exceeds {name}'s {max_positions} positions; "
                        f"lower model.block_size")

    def encode(text: str) -> list[int]:
        return tokenizer(text, truncation=True, max_length=block_size)["input_ids"]
    return HFClassifier(hf_model), encode, int(tokenizer.pad_token_id)
