"""Birth-place datasets and greedy answers (gpt/birthplace.py): structure, loss masks, purity."""
import hashlib

import numpy as np
import pytest
import torch

from gpt import build_model
from gpt.batches import ArrayExamples, seeded_rng
from gpt.birthplace import (CharCorruptionDataset, NameDataset, ascii_only, birthplace_vocabulary,
                            greedy_answers)
from gpt.config import GPTConfig
from gpt.tokenizer import MASK_CHAR, PAD_CHAR

BLOCK = 128


@pytest.fixture(scope="module")
def wiki(data_root):
    return (data_root / "birth_places" / "wiki.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tok(wiki):
    return birthplace_vocabulary(wiki)


@pytest.fixture(scope="module")
def corruption(wiki, tok):
    return CharCorruptionDataset(wiki.split("\n"), tok, BLOCK)


def test_vocabulary_is_wiki_chars_after_pad_and_mask(tok, wiki):
    assert tok.pad_id == 0 and tok.mask_id == 1
    assert tok.itos[:2] == [PAD_CHAR, MASK_CHAR]
    assert tok.vocab_size == len(set(wiki)) + 2 == 256   # CS224n: "256 unique"


def test_span_corruption_examples_have_the_documented_form(corruption, tok):
    lengths, ratios = [], []
    for index in range(0, corruption.size("train"), 7):
        rng = seeded_rng(5, 0, index)
        n, start, span = corruption.corrupt(index, seeded_rng(5, 0, index))
        x, y, mask = corruption.example("train", index, rng)
        assert x.shape == y.shape == mask.shape == (BLOCK - 1,)
        seq = tok.decode(np.concatenate([x, y[-1:]]))
        assert seq[1:] == tok.decode(y)                       # y is x shifted by one
        prefix, suffix, rest = seq.split(MASK_CHAR)           # exactly two masks
        masked = rest.rstrip(PAD_CHAR)
        doc = tok.decode(corruption.docs[index])
        assert prefix + masked + suffix == doc[:n] and len(masked) == span and len(prefix) == start
        assert set(rest[len(masked):]) <= {PAD_CHAR} and len(seq) == BLOCK
        assert 4 <= n <= int(BLOCK * 7 / 8) and 1 <= span
        np.testing.assert_array_equal(mask, (y != tok.pad_id).astype(np.float32))
        lengths.append(n)
        ratios.append(span / n)
    assert min(lengths) < 20 and max(lengths) == int(BLOCK * 7 / 8)   # the whole range is drawn
    assert 0.22 < np.mean(ratios) < 0.26                               # ~1/4 of the text masked
    assert min(ratios) < 0.1 and max(ratios) > 0.4                     # random, not fixed


def test_examples_are_pure_functions_of_seed_and_index(wiki, tok, corruption):
    again = CharCorruptionDataset(wiki.split("\n"), tok, BLOCK)
    for a, b in zip(corruption.train_batch(3, 11, 8), again.train_batch(3, 11, 8)):
        torch.testing.assert_close(a, b)
    assert not torch.equal(corruption.train_batch(3, 11, 8)[0], corruption.train_batch(4, 11, 8)[0])
    first = [b[0] for b in corruption.eval_batches("val", 4, 2)]
    second = [b[0] for b in again.eval_batches("val", 4, 2)]
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_block_size_too_small_for_span_corruption(tok):
    with pytest.raises(ValueError, match="block_size >= 16"):
        CharCorruptionDataset(["some text"], tok, 8)


def test_name_dataset_loss_is_only_on_the_answer(tok):
    pairs = [("Where was Ada Lovelace born?", "London"), ("Where was Zoë born?", "Kraków")]
    ds = NameDataset({"train": pairs, "val": pairs[:1]}, tok, 64)
    assert ds.size("train") == 2 and ds.size("val") == 1
    for i, (question, place) in enumerate(pairs):
        x, y, mask = ds.example("train", i, seeded_rng(0, i))
        assert x.shape == y.shape == mask.shape == (63,)
        seq = tok.decode(np.concatenate([x, y[-1:]]))
        assert seq == (question + MASK_CHAR + place + MASK_CHAR).ljust(64, PAD_CHAR)
        assert tok.decode(y[mask == 1]) == MASK_CHAR + place + MASK_CHAR
        assert mask[:len(question) - 1].sum() == 0            # never on the question
        np.testing.assert_array_equal(x[1:], y[:-1])


@pytest.mark.parametrize("pair, message", [
    (("Where was ☃ born?", "Paris"), "not in the vocabulary"),
    (("Where was " + "A" * 60 + " born?", "Paris"), "exceed block_size=64"),
])
def test_name_dataset_refuses_pairs_it_cannot_encode(tok, pair, message):
    with pytest.raises(ValueError, match=message):
        NameDataset({"train": [pair], "val": [pair]}, tok, 64)


class ScriptedModel(torch.nn.Module):
    """Answers `script` after the first ⁇ of each row, whatever the question (next-token logits)."""

    def __init__(self, tok, script: str, block_size: int = 128):
        super().__init__()
        self.cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=block_size)
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.tok, self.script = tok, tok.encode(script)

    def forward(self, idx, targets=None, mask=None):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.tok.vocab_size)
        for b in range(B):
            after = T - 1 - int((idx[b] == self.tok.mask_id).nonzero()[0])   # symbols after the ⁇
            logits[b, -1, self.script[min(after, len(self.script) - 1)]] = 1.0
        return logits, None


def test_greedy_answer_stops_at_the_next_mask(tok):
    model = ScriptedModel(tok, "Paris" + MASK_CHAR + "junk")
    questions = ["Where was Ada born?", "Where was Bob born?", "Where was Carolina born?"]
    assert greedy_answers(model, tok, questions) == ["Paris"] * 3
    endless = ScriptedModel(tok, "a")                                 # never closes: 32 characters
    assert greedy_answers(endless, tok, questions[:1]) == ["a" * 32]


def test_greedy_answers_batched_equal_one_by_one_and_crop_long_questions(tok):
    torch.manual_seed(0)
    model = build_model(GPTConfig(vocab_size=tok.vocab_size, block_size=24, n_layer=1, n_head=2,
                                  n_embd=16, dropout=0.0)).eval()
    questions = ["Where was Ada born?", "Where was Bob born?", "Where was Al born?",
                 "Where was Maximilian Alexander von Humboldt born?"]   # longer than block_size
    together = greedy_answers(model, tok, questions, max_new_tokens=8)
    alone = [greedy_answers(model, tok, [q], max_new_tokens=8)[0] for q in questions]
    assert together == alone and all(len(a) <= 8 and MASK_CHAR not in a for a in together)


def test_name_dataset_batches_are_those_of_before_it_reused_array_examples(tok, data_root):
    """The finetune presets' batches: a digest of these, computed while NameDataset still had its
    own size/example, so the birthplace results do not move."""
    def pairs(name: str, n: int) -> list[tuple[str, str]]:
        lines = (data_root / "birth_places" / name).read_text(encoding="utf-8").splitlines()[:n]
        return [tuple(ascii_only(line).split("\t")) for line in lines]
    ds = NameDataset({"train": pairs("birth_places_train.tsv", 50), "val": pairs("birth_dev.tsv", 20)}, tok, BLOCK)
    assert isinstance(ds, ArrayExamples)
    digest = hashlib.sha256()
    batches = [ds.train_batch(seed, index, 32) for seed in (0, 7) for index in range(5)]   # 3 epochs
    for batch in batches + list(ds.eval_batches("val", 8, 0)):
        for tensor in batch:
            digest.update(tensor.numpy().tobytes())
    assert digest.hexdigest()[:16] == "bcb3e030a585edcc"
