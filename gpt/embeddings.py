"""Pretrained token embeddings from an npz file (IFT6135 A2's GPT-1 embeddings), frozen or not.

    apply_embeddings(model, cfg.model)    # after building: loads, checks shapes, freezes

The file holds "tokens" (vocab_size, n_embd) and, optionally, "position" (block_size', n_embd)
for a GPT with learned positions (its first block_size rows are used). With
`freeze_embeddings` the token table (and a tied head, which is the same tensor) gets no
gradient, so it stays bit-identical through training. `padding_idx` >= 0 zeroes that row's
gradient, as nn.Embedding(padding_idx=...) does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gpt.config import ConfigError


class EmbeddingsError(ConfigError):
    """The embeddings file is missing or does not fit the model; the message says what fits."""


def read_embeddings(path: str | Path) -> dict[str, np.ndarray]:
    """{"tokens": (V, C) float array, optionally "position": (T, C)} from an npz file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise EmbeddingsError(f"model.embeddings_file={path}: no such file; IFT6135's GPT-1 "
                              "embeddings are https://ift6135-h2021.s3.us-east-2.amazonaws.com/"
                              "assignment2/embeddings.npz")
    try:
        with np.load(path) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise EmbeddingsError(f"model.embeddings_file={path} is not a readable npz ({exc})") from None
    if "tokens" not in arrays:
        raise EmbeddingsError(f"model.embeddings_file={path} has arrays {sorted(arrays)}, no 'tokens' "
                              "(vocab_size, n_embd)")
    return arrays


def _check_shape(path, name: str, array: np.ndarray, want: tuple[int, int], what: str) -> None:
    if array.ndim != 2 or array.shape[1] != want[1] or array.shape[0] < want[0]:
        raise EmbeddingsError(f"model.embeddings_file={path}: '{name}' has shape {array.shape}, the "
                              f"model needs {want} ({what}); match model.n_embd / the tokenizer")


@torch.no_grad()
def apply_embeddings(model: torch.nn.Module, cfg) -> None:
    """Load cfg.embeddings_file into model.wte (and model.wpe), then freeze / mark padding."""
    positions_loaded = False
    if cfg.embeddings_file:
        arrays = read_embeddings(cfg.embeddings_file)
        tokens = arrays["tokens"]
        want = tuple(model.wte.weight.shape)
        if tokens.shape != want:
            raise EmbeddingsError(f"model.embeddings_file={cfg.embeddings_file}: 'tokens' has shape "
                                  f"{tokens.shape}, the model needs {want} (vocab_size from the "
                                  f"tokenizer, n_embd={want[1]}); use the tokenizer the file was "
                                  f"made for and model.n_embd={tokens.shape[-1]}")
        model.wte.weight.copy_(torch.from_numpy(tokens.astype(np.float32)))
        wpe = getattr(model, "wpe", None)
        if "position" in arrays and wpe is not None:
            _check_shape(cfg.embeddings_file, "position", arrays["position"], tuple(wpe.weight.shape),
                         "block_size rows at least")
            wpe.weight.copy_(torch.from_numpy(arrays["position"][: wpe.weight.shape[0]].astype(np.float32)))
            positions_loaded = True
    if cfg.freeze_embeddings:
        model.wte.weight.requires_grad_(False)
        if positions_loaded:
            model.wpe.weight.requires_grad_(False)
    if cfg.padding_idx >= 0:
        model.wte.padding_idx = cfg.padding_idx   # F.embedding then gives that row no gradient
