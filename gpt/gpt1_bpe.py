"""GPT-1's BPE tokenizer (OpenAI's finetune-transformer-lm), read from its own files
encoder_bpe_40000.json and vocab_40000.bpe (how it differs from the original: see the class).

    tok = GPT1Tokenizer.from_files(folder / "encoder_bpe_40000.json", folder / "vocab_40000.bpe")

Saved and loaded through gpt/tokenizer.py like every tokenizer (kind "gpt1").
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable


class GPT1Tokenizer:
    """OpenAI GPT-1's BPE (finetune-transformer-lm), with ids shifted by one as in IFT6135's data.

    Id 0 is padding; id i is the entry with value i-1 in `encoder_bpe_40000.json`, whose keys end
    in `</w>` at word ends. Encoding lowercases and splits words and single punctuation marks (a
    regex stands in for the original ftfy + spaCy), then merges by rank; unknown pieces -> `<unk>`.
    """

    kind = "gpt1"
    PAD_ID = 0
    _WORDS = re.compile(r"<unk>|[^\W_]+|\S")   # <unk>, a run of letters/digits, or one other mark

    def __init__(self, encoder: dict[str, int], merges: list[str]):
        self.encoder = dict(encoder)
        self.merges = list(merges)
        self.stoi = {k: v + 1 for k, v in self.encoder.items()}   # shifted: 0 is padding
        self.itos = {i: k for k, i in self.stoi.items()}
        self.ranks = {tuple(m.split()): r for r, m in enumerate(self.merges)}
        self.vocab_size = len(self.encoder) + 1
        self.unk_id = self.stoi["<unk>"]
        self._cache: dict[str, list[str]] = {"<unk>": ["<unk>"]}   # word -> BPE pieces

    @classmethod
    def from_files(cls, encoder_path: Path, bpe_path: Path) -> GPT1Tokenizer:
        """Read `encoder_bpe_40000.json` and `vocab_40000.bpe` (first line is a version header)."""
        encoder = json.loads(Path(encoder_path).read_text(encoding="utf-8"))
        lines = Path(bpe_path).read_text(encoding="utf-8").split("\n")[1:]
        return cls(encoder, [line for line in lines if line])

    def _bpe(self, word: str) -> list[str]:
        if word not in self._cache:
            parts = list(word[:-1]) + [word[-1] + "</w>"]
            while len(parts) > 1:
                pairs = {(a, b) for a, b in zip(parts, parts[1:])}
                best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
                if best not in self.ranks:
                    break
                merged, i = [], 0
                while i < len(parts):
                    if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                        merged.append(parts[i] + parts[i + 1])
                        i += 2
                    else:
                        merged.append(parts[i])
                        i += 1
                parts = merged
            self._cache[word] = parts
        return self._cache[word]

    def encode(self, text: str) -> list[int]:
        """Lower-cased words split by GPT-1's BPE merges; unknown pieces -> <unk>."""
        return [self.stoi.get(piece, self.unk_id)
                for word in self._WORDS.findall(text.lower()) for piece in self._bpe(word)]

    def decode(self, ids: Iterable[int]) -> str:
        """Pieces joined, each `</w>` ending a word; padding dropped."""
        # <unk> stands for a whole word
        pieces = [self.itos[int(i)] for i in ids if int(i) != self.PAD_ID]
        return "".join(p + " " if p == "<unk>" else p.replace("</w>", " ") for p in pieces)

    def to_json(self) -> dict:
        """GPT-1's encoder (piece -> id) and merges."""
        return {"kind": self.kind, "encoder": self.encoder, "merges": self.merges}

    @classmethod
    def from_json(cls, obj: dict) -> GPT1Tokenizer:
        """The tokenizer `to_json` described."""
        return cls(obj["encoder"], obj["merges"])
