"""CS224n's birth-place task (CS224n a5): span-corruption pretraining, question finetuning, greedy answers.

    tok = birthplace_vocabulary(wiki_text)                       # PAD □ = 0, MASK ⁇ = 1, then chars
    pre = CharCorruptionDataset(wiki_text.split("\\n"), tok, block_size=128)
    qa = NameDataset({"train": pairs, "val": dev_pairs}, tok, block_size=128)
    x, y, mask = pre.example("train", 0, np.random.default_rng(0))   # each (block_size - 1,)
    answers = greedy_answers(model, tok, ["Where was Ada Lovelace born?"])

Both datasets are `gpt.batches.ExampleSet`s: an example is a pure function of (split, index, rng),
and the trainer seeds the rng from (seed, epoch, index). As in CS224n, every example is a string
of exactly block_size symbols, x = string[:-1] and y = string[1:]; the mask marks the targets
CS224n's loss kept (it ignored PAD targets):
- NameDataset:  `question ⁇ place ⁇ □□…`; loss on `⁇ place ⁇` only (never on the question).
- CharCorruptionDataset: a document truncated to a random length in [4, int(7/8·block_size)], one
  random span (1/4 of it on average) cut out: `prefix ⁇ suffix ⁇ span □□…`; loss on every non-PAD.
Nothing here reads files: callers pass the text and the (question, place) pairs.
"""
from __future__ import annotations

import numpy as np
import torch

from gpt.batches import ArrayExamples, ExampleSet
from gpt.sampling import generate
from gpt.tokenizer import MASK_CHAR, PAD_CHAR, CharTokenizer

MAX_ANSWER_CHARS = 32   # CS224n's run.py samples 32 characters after the question


def birthplace_vocabulary(wiki_text: str) -> CharTokenizer:
    """Sorted characters of the pretraining text after PAD (id 0) and MASK (id 1), as CS224n."""
    return CharTokenizer.from_text(wiki_text, pad=PAD_CHAR, mask=MASK_CHAR)


def _check_specials(tokenizer: CharTokenizer) -> None:
    if tokenizer.pad_id != 0 or tokenizer.mask_id is None:
        raise ValueError("the birth-place datasets need a CharTokenizer with pad (id 0) and mask "
                         "symbols; build it with birthplace_vocabulary(wiki_text)")


class CharCorruptionDataset(ExampleSet):
    """Span corruption over documents (one per line of wiki.txt); "train" and "val" share them.

    The pretraining goal is to memorise wiki.txt (it has a line for every person of the train,
    dev and test questions), so there is no held-out text: "val" is the same documents under a
    fixed corruption and measures memorisation.
    """

    def __init__(self, documents: list[str], tokenizer: CharTokenizer, block_size: int,
                 keep_empty: bool = False):
        """keep_empty=True keeps empty documents (CS224n's `text.split("\\n")` keeps the one after
        wiki.txt's last newline): each gives `⁇⁇□…`, and it counts towards the epoch length."""
        _check_specials(tokenizer)
        self.max_len = int(block_size * 7 / 8)
        if self.max_len + 2 > block_size or self.max_len < 4:
            raise ValueError(f"block_size={block_size} is too small for span corruption "
                             f"(int(7/8·block_size) + 2 symbols must fit); use block_size >= 16")
        self.docs = [np.array(tokenizer.encode(d), dtype=np.int64) for d in documents
                     if keep_empty or d.strip()]
        if not any(len(d) for d in self.docs):
            raise ValueError("no non-empty document to pretrain on")
        self.block_size, self.pad, self.mask = block_size, tokenizer.pad_id, tokenizer.mask_id

    def size(self, split: str) -> int:
        """Documents in the pretraining corpus (every split samples the same ones)."""
        return len(self.docs)

    def corrupt(self, index: int, rng: np.random.Generator) -> tuple[int, int, int]:
        """(kept length n, span start, span length) for document `index`."""
        n = min(len(self.docs[index]), int(rng.integers(4, self.max_len + 1)))
        # uniform in [1, n/2 - 1]: mean n/4, and any length from 1 char up to ~half can occur
        span = min(n, int(rng.integers(1, max(1, (n - 2) // 2) + 1)))   # 0 for an empty document
        start = int(rng.integers(0, n - span + 1))
        return n, start, span

    def example(self, split: str, index: int, rng: np.random.Generator):
        n, start, span = self.corrupt(index, rng)
        doc = self.docs[index][:n]
        seq = np.full(self.block_size, self.pad, dtype=np.int64)   # (block_size,)
        pieces = [doc[:start], [self.mask], doc[start + span:], [self.mask], doc[start:start + span]]
        body = np.concatenate([np.asarray(p, dtype=np.int64) for p in pieces])
        seq[:len(body)] = body
        y = seq[1:]
        return seq[:-1], y, (y != self.pad).astype(np.float32)


def ascii_only(text: str) -> str:
    """`text` without its non-ASCII characters, as CS224n's NameDataset reads the finetune file
    (`data.encode('utf-8').decode('ascii', errors='ignore')`): "Gödel" becomes "Gdel"."""
    return text.encode("utf-8").decode("ascii", errors="ignore")


def example_problem(tokenizer: CharTokenizer, block_size: int, question: str, place: str) -> str | None:
    """Why (question, place) cannot be a NameDataset example, or None if it can."""
    unknown = sorted({c for c in question + place if c not in tokenizer.stoi})
    if unknown:
        return f"{len(unknown)} character(s) not in the vocabulary: {', '.join(map(repr, unknown[:5]))}"
    if len(question) + len(place) + 2 > block_size:
        return (f"question + place + 2 symbols = {len(question) + len(place) + 2} characters "
                f"exceed block_size={block_size}")
    return None


class NameDataset(ArrayExamples):
    """`question ⁇ place ⁇ □…` per (question, place) pair; {split: pairs} for "train" and "val".
    The encoded examples are fixed arrays, so ArrayExamples does the batching."""

    def __init__(self, pairs: dict[str, list[tuple[str, str]]], tokenizer: CharTokenizer,
                 block_size: int):
        _check_specials(tokenizer)
        arrays = {}
        for split, rows in pairs.items():
            if not rows:
                raise ValueError(f"split {split!r} has no (question, place) pairs")
            problems = [(q, p) for q, p in rows if example_problem(tokenizer, block_size, q, p)]
            if problems:
                q, p = problems[0]
                raise ValueError(f"{len(problems)} pair(s) of split {split!r} cannot be encoded, "
                                 f"e.g. {q!r}: {example_problem(tokenizer, block_size, q, p)}")
            arrays[split] = self._encode(rows, tokenizer, block_size)
        super().__init__(arrays)

    @staticmethod
    def _encode(rows, tokenizer: CharTokenizer, block_size: int):
        """(x, y, mask), each (N, block_size - 1)."""
        seqs = np.full((len(rows), block_size), tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), block_size - 1), dtype=np.float32)
        for i, (question, place) in enumerate(rows):
            ids = tokenizer.encode(question + MASK_CHAR + place + MASK_CHAR)
            seqs[i, :len(ids)] = ids
            # target j is symbol j+1: the first target after the question is its ⁇
            mask[i, len(question) - 1:len(ids) - 1] = 1.0
        return seqs[:, :-1], seqs[:, 1:], mask


@torch.no_grad()
def greedy_answers(model, tokenizer: CharTokenizer, questions: list[str],
                   max_new_tokens: int = MAX_ANSWER_CHARS, batch_size: int = 128) -> list[str]:
    """Greedy completion of `question ⁇` up to the next ⁇ (or max_new_tokens), per question.

    Questions of equal length are decoded together (no padding, so batching changes nothing) and
    a batch stops once every row has closed its answer; contexts longer than block_size are
    cropped to their last block_size symbols (by `generate`).
    """
    device = next(model.parameters()).device
    encoded = [tokenizer.encode(q + MASK_CHAR) for q in questions]
    answers = [""] * len(questions)
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(i)
    for length, members in sorted(by_length.items()):
        for start in range(0, len(members), batch_size):
            chunk = members[start:start + batch_size]
            idx = torch.tensor([encoded[i] for i in chunk], dtype=torch.long, device=device)  # (B, L)
            for _ in range(max_new_tokens):
                idx = generate(model, idx, 1, temperature=0.0)                            # (B, L + 1)
                if bool((idx[:, length:] == tokenizer.mask_id).any(dim=1).all()):
                    break
            for i, row in zip(chunk, idx[:, length:].tolist()):
                answers[i] = tokenizer.decode(row).split(MASK_CHAR)[0]
    return answers
