"""Tokenizers: char, word, byte-level BPE and GPT-1 BPE (gpt/gpt1_bpe.py), saved as self-contained
JSON (never pickle).

    tok = CharTokenizer.from_text(open("input.txt").read())
    ids = tok.encode("First Citizen:"); tok.decode(ids) == "First Citizen:"
    save_tokenizer(tok, run_dir / "tokenizer.json"); tok = load_tokenizer(run_dir / "tokenizer.json")

Every tokenizer has `kind`, `vocab_size`, `encode(str) -> list[int]`, `decode(list[int]) -> str`
and `to_json() -> dict`; the JSON holds the whole vocabulary, so a run dir can be decoded
without the corpus it was trained on.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Protocol

from tokenizers import Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers

from gpt.gpt1_bpe import GPT1Tokenizer
from gpt.rundir import RunFileError, read_json, write_json

PAD_CHAR = "\u25a1"   # □, CS224n's padding symbol
MASK_CHAR = "\u2047"  # ⁇, CS224n's span-corruption mask symbol
_SAFE_CUT = re.compile(r"[A-Za-z0-9](?=[ \n])")   # where a long text may be cut (BPETokenizer)


class Tokenizer(Protocol):
    """Text <-> token ids; saved as JSON (to_json / load_tokenizer), never pickled."""

    kind: str
    vocab_size: int

    def encode(self, text: str) -> list[int]:
        """Text -> token ids."""

    def decode(self, ids: list[int]) -> str:   # also accepts numpy / torch integers
        """Token ids -> text."""

    def to_json(self) -> dict:
        """Everything needed to rebuild this tokenizer, as JSON-able values."""


class CharTokenizer:
    """One id per character. Specials come first, like CS224n: PAD=0, MASK=1, then the characters.

    `pad_id` / `mask_id` are None when the tokenizer was built without that symbol.
    """

    kind = "char"

    def __init__(self, chars: str | list[str], pad: str | None = None, mask: str | None = None):
        chars = list(chars)
        specials = [s for s in (pad, mask) if s is not None]
        itos = specials + chars
        if len(set(itos)) != len(itos) or any(len(c) != 1 for c in itos):
            raise ValueError("CharTokenizer needs distinct single characters, and pad/mask "
                             "symbols that do not occur in the text")
        self.chars, self.pad, self.mask = chars, pad, mask
        self.itos = itos
        self.stoi = {c: i for i, c in enumerate(itos)}
        self.vocab_size = len(itos)
        self.pad_id = self.stoi[pad] if pad is not None else None
        self.mask_id = self.stoi[mask] if mask is not None else None

    @classmethod
    def from_text(cls, text: str, pad: str | None = None, mask: str | None = None) -> CharTokenizer:
        """Sorted distinct characters of `text` (the training text), after the optional specials."""
        return cls(sorted(set(text)), pad=pad, mask=mask)

    def encode(self, text: str) -> list[int]:
        """One id per character; characters not in the vocabulary are a ValueError."""

        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            shown = ", ".join(repr(c) for c in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise ValueError(f"{len(unknown)} character(s) not in the vocabulary: {shown}; this char "
                             f"tokenizer's {self.vocab_size} symbols came from the training text, "
                             f"so remove them from the input") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of `ids`, joined."""
        return "".join(self.itos[int(i)] for i in ids)

    def to_json(self) -> dict:
        """The characters and the pad/mask symbols."""
        return {"kind": self.kind, "chars": self.chars, "pad": self.pad, "mask": self.mask}

    @classmethod
    def from_json(cls, obj: dict) -> CharTokenizer:
        """The tokenizer `to_json` described."""
        return cls(obj["chars"], pad=obj["pad"], mask=obj["mask"])


class WordTokenizer:
    """Whitespace-split words, as pytorch/examples word_language_model reads WikiText.

    Ids: `<unk>`=0, `<eos>`=1, then words in order of first appearance in the training text.
    Each newline becomes `<eos>`; unknown words become `<unk>`. Decoding joins words with spaces.
    """

    kind = "word"
    UNK, EOS = "<unk>", "<eos>"

    def __init__(self, words: list[str]):
        if words[:2] != [self.UNK, self.EOS] or len(set(words)) != len(words):
            raise ValueError("WordTokenizer words must be distinct and start with <unk>, <eos>")
        self.words = list(words)
        self.stoi = {w: i for i, w in enumerate(self.words)}
        self.vocab_size = len(self.words)

    @classmethod
    def from_text(cls, text: str) -> WordTokenizer:
        """Vocabulary of every whitespace-separated word of `text` (the training split)."""
        seen = dict.fromkeys([cls.UNK, cls.EOS])
        for line in text.split("\n"):
            seen.update(dict.fromkeys(line.split()))
        return cls(list(seen))

    def encode(self, text: str) -> list[int]:
        """Whitespace-split words (unknown ones -> <unk>), one <eos> per newline."""

        unk, eos = self.stoi[self.UNK], self.stoi[self.EOS]
        ids: list[int] = []
        lines = text.split("\n")
        for n, line in enumerate(lines):
            ids.extend(self.stoi.get(w, unk) for w in line.split())
            if n < len(lines) - 1:   # one <eos> per newline
                ids.append(eos)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Words joined by spaces, a newline for each <eos>."""

        lines: list[list[str]] = [[]]
        for word in (self.words[int(i)] for i in ids):
            if word == self.EOS:
                lines.append([])
            else:
                lines[-1].append(word)
        return "\n".join(" ".join(line) for line in lines)

    def to_json(self) -> dict:
        """The word list."""
        return {"kind": self.kind, "words": self.words}

    @classmethod
    def from_json(cls, obj: dict) -> WordTokenizer:
        """The tokenizer `to_json` described."""
        return cls(obj["words"])


class BPETokenizer:
    """Byte-level BPE (GPT-2 style) trained with HF `tokenizers`; round-trips any text exactly."""

    kind = "bpe"

    def __init__(self, hf_tokenizer):
        self.hf = hf_tokenizer
        self.vocab_size = hf_tokenizer.get_vocab_size()

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges on `text` (the training split) up to `vocab_size` ids (>= 257)."""
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        if vocab_size <= len(alphabet):
            raise ValueError(f"bpe vocab_size {vocab_size} must exceed the {len(alphabet)} byte "
                             f"symbols; set data.bpe_vocab_size to e.g. 4096")
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet,
                                      show_progress=False)
        hf.train_from_iterator(text.splitlines(keepends=True), trainer)
        return cls(hf)

    @classmethod
    def from_gpt2_files(cls, encoder_json: Path, vocab_bpe: Path) -> BPETokenizer:
        """OpenAI's GPT-2 BPE (encoder.json = vocab, vocab.bpe = merges): 50,257 ids, the same
        byte-level split as GPT-2 and tiktoken's "gpt2"; <|endoftext|> is id 50256."""
        hf = HFTokenizer(models.BPE.from_file(str(encoder_json), str(vocab_bpe)))
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        hf.add_special_tokens(["<|endoftext|>"])
        return cls(hf)

    def encode(self, text: str, chunk_chars: int = 1 << 20) -> list[int]:
        """Ids of `text`; a long text is cut into ~chunk_chars pieces encoded in parallel.

        Cuts fall only between an ASCII letter or digit and a space or newline: there the
        byte-level split ends a pre-token whatever follows, so the ids equal one encode."""
        if len(text) <= chunk_chars:
            return self.hf.encode(text).ids
        pieces, start = [], 0
        while start < len(text):
            cut = _SAFE_CUT.search(text, start + chunk_chars)
            end = cut.end() if cut else len(text)
            pieces.append(text[start:end])
            start = end
        return [i for enc in self.hf.encode_batch(pieces) for i in enc.ids]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids` (Hugging Face tokenizers' byte-level decoding)."""
        return self.hf.decode([int(i) for i in ids])

    def to_json(self) -> dict:
        """The whole Hugging Face tokenizer, as its own JSON."""
        return {"kind": self.kind, "hf": json.loads(self.hf.to_str())}

    @classmethod
    def from_json(cls, obj: dict) -> BPETokenizer:
        """The tokenizer `to_json` described."""
        return cls(HFTokenizer.from_str(json.dumps(obj["hf"])))


KINDS = {cls.kind: cls for cls in (CharTokenizer, WordTokenizer, BPETokenizer, GPT1Tokenizer)}


def tokenizer_from_json(obj: dict) -> Tokenizer:
    """Rebuild a tokenizer from `to_json()` output; ValueError if the kind is unknown or a field is bad."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind not in KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of: {', '.join(KINDS)}")
    try:
        return KINDS[kind].from_json(obj)
    except Exception as exc:   # HF `tokenizers` raises bare Exception on a bad serialisation
        raise ValueError(f"damaged {kind} tokenizer data ({type(exc).__name__}: {exc})") from None


def save_tokenizer(tok: Tokenizer, path: Path) -> None:
    """Write `tok.to_json()` atomically to `path`."""
    write_json(Path(path), tok.to_json())


def load_tokenizer(path: Path) -> Tokenizer:
    """Read a tokenizer saved by `save_tokenizer`; ValueError naming the file if missing or corrupt."""
    obj = read_json(Path(path))   # ValueError naming the file if missing or not JSON
    try:
        return tokenizer_from_json(obj)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:   # any shape a hand edit leaves
        raise RunFileError(f"{path}: not a tokenizer this toolkit wrote ({str(exc)[:120]}); restore "
                           "it from a backup, or rerun the job that trained the run") from None
