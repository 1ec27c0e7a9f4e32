"""How the registry's corpora are read: split readers, fixed vocabularies, example layouts.

    text = read_text(path)                         # UTF-8 or a one-line DataError
    ids = npz_tokens(path, "valid")                # token ids stored by IFT6135 (no tokenizing)
    tok = birth_places_vocabulary({"wiki": path})  # CS224n's PAD, MASK + characters of wiki.txt

A reader is `(file, split name) -> text or token ids`; a vocabulary is `{role: file} -> Tokenizer`;
an example layout is `(token arrays by split, block_size) -> Batches` (data_registry.Dataset).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from data_sources import DataError
from gpt.batches import ExampleSet
from gpt.birthplace import birthplace_vocabulary
from gpt.tokenizer import CharTokenizer, GPT1Tokenizer


def read_text(path: Path, split: str = "") -> str:
    """The file as UTF-8 text (the split name is not needed: the file is the split)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:   # a one-line error, not a traceback
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); convert it (`iconv -t utf-8`) "
                        f"or fetch it again with `python data.py download`") from None


def wikitext103_split(path: Path, split: str) -> str:
    """Split `split` of the WikiText-103 raw zip, read in place (no unpacked copy)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(f"wikitext-103-raw/wiki.{split}.raw").decode("utf-8")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{path} is not the WikiText-103 raw zip ({exc}); fetch it again with "
                        f"`python data.py download wikitext103 --data-root DIR`") from None


def npz_tokens(path: Path, split: str) -> np.ndarray:
    """The `tokens` array of an IFT6135 .npz split: GPT-1 ids shifted by one (0 = padding)."""
    with np.load(path) as archive:
        return archive["tokens"]


def gpt1_vocabulary(files: dict[str, Path]) -> GPT1Tokenizer:
    """GPT-1's BPE from OpenAI's encoder_bpe_40000.json ("encoder") and vocab_40000.bpe ("merges")."""
    return GPT1Tokenizer.from_files(files["encoder"], files["merges"])


def birth_places_vocabulary(files: dict[str, Path]) -> CharTokenizer:
    """CS224n's vocabulary: the characters of wiki.txt ("wiki") after PAD (0) and MASK (1)."""
    try:
        return birthplace_vocabulary(read_text(files["wiki"]))
    except ValueError as exc:
        raise DataError(f"{files['wiki']}: {exc}") from None


class StridedExamples(ExampleSet):
    """IFT6135's `Wikitext2(break_mode="none")`: example i is tokens[i*T : i*T+T+1] of the split's
    concatenated documents (source = first T, target = last T, consecutive examples overlap by one);
    the last one is zero-padded with mask 0. Read lazily from memory-mapped arrays.
    (The original started the last, partial example one token late; here it starts where the
    previous one ended, so every token but the first is a target exactly once.)
    """

    def __init__(self, tokens: dict[str, np.ndarray], block_size: int):
        self.tokens = tokens
        self.splits = tuple(tokens)
        self.block_size = block_size

    def size(self, split: str) -> int:
        """Number of block_size windows that cover `split`'s targets (the last one padded)."""
        return -(-(len(self.tokens[split]) - 1) // self.block_size)   # ceil(targets / T)

    def example(self, split: str, index: int, rng: np.random.Generator):
        T = self.block_size
        piece = np.asarray(self.tokens[split][index * T: index * T + T + 1])   # (<= T+1,)
        n_targets = len(piece) - 1
        x, y = np.zeros(T, dtype=piece.dtype), np.zeros(T, dtype=piece.dtype)
        mask = np.zeros(T, dtype=np.float32)
        x[:n_targets], y[:n_targets], mask[:n_targets] = piece[:-1], piece[1:], 1.0
        return x, y, mask
