"""Tokenizers round-trip, survive save/load, and fail with messages that say what to do."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from gpt.tokenizer import (MASK_CHAR, PAD_CHAR, BPETokenizer, CharTokenizer, GPT1Tokenizer,
                           WordTokenizer, load_tokenizer, save_tokenizer)

SAMPLE = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


@pytest.fixture(scope="module")
def gpt1(data_root):
    folder = data_root / "ift6135-wikitext2-gpt1bpe"
    return GPT1Tokenizer.from_files(folder / "encoder_bpe_40000.json", folder / "vocab_40000.bpe")


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.train(SAMPLE * 20 + "héllo wörld, 中文 🙂\n", vocab_size=300)


def test_char_specials_first_like_cs224n():
    tok = CharTokenizer.from_text("hello world", pad=PAD_CHAR, mask=MASK_CHAR)
    assert (tok.pad_id, tok.mask_id) == (0, 1)
    assert tok.vocab_size == 2 + len(set("hello world"))
    assert tok.itos[2:] == sorted(set("hello world"))
    text = f"hello{MASK_CHAR}world{MASK_CHAR}{PAD_CHAR}{PAD_CHAR}"
    assert tok.decode(tok.encode(text)) == text
    plain = CharTokenizer.from_text("abc")
    assert (plain.pad_id, plain.mask_id, plain.encode("cab")) == (None, None, [2, 0, 1])


def test_char_unknown_character_is_a_clear_error():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"not in the vocabulary: 'x', 'é'.*training text") as err:
        tok.encode("abxé")
    assert "\n" not in str(err.value)


def test_char_rejects_specials_inside_the_text():
    with pytest.raises(ValueError, match="pad/mask"):
        CharTokenizer.from_text("a" + PAD_CHAR, pad=PAD_CHAR)


def test_word_round_trip_with_eos_and_unk():
    text = " = Homarus gammarus = \n \n Homarus gammarus is a lobster . \n"
    tok = WordTokenizer.from_text(text)
    ids = tok.encode(text)
    assert ids[:5] == [2, 3, 4, 2, 1]          # "=" "Homarus" "gammarus" "=" <eos>
    assert ids.count(1) == text.count("\n")
    assert tok.decode(ids) == "= Homarus gammarus =\n\nHomarus gammarus is a lobster .\n"
    assert tok.decode(tok.encode("a crab is here")) == "a <unk> is <unk>"


def test_bpe_round_trips_arbitrary_unicode(bpe):
    assert bpe.vocab_size == 300
    for text in ["", "  leading and trailing  ", "tabs\tand\r\nnewlines\n", "naïve café 中文 🙂 ∑x²",
                 SAMPLE]:
        assert bpe.decode(bpe.encode(text)) == text
    assert len(bpe.encode(SAMPLE)) < len(SAMPLE.encode()) / 2   # merges were learned


def test_bpe_rejects_too_small_vocab():
    with pytest.raises(ValueError, match="bpe_vocab_size"):
        BPETokenizer.train("abc", vocab_size=100)


def test_gpt1_decodes_ift6135_ids(gpt1, data_root):
    ids = np.load(data_root / "ift6135-wikitext2-gpt1bpe" / "wiki.validation.npz")["tokens"]
    assert gpt1.vocab_size == 40479
    assert gpt1.decode(ids[:30].tolist()).startswith("= homarus gammarus = homarus gammarus , known as")
    # re-encoding the decoded text gives the course's ids back (the regex matches spaCy here)
    head = ids[:20000].tolist()
    assert gpt1.encode(gpt1.decode(head)) == head


def test_gpt1_encodes_prompts(gpt1):
    text = "it is a truth universally acknowledged, that a single man must be in want of a wife."
    ids = gpt1.encode(text)
    assert 0 not in ids and max(ids) < gpt1.vocab_size
    assert gpt1.decode(ids).split() == text.replace(",", " ,").replace(".", " .").split()
    assert gpt1.encode("The Best") == gpt1.encode("the best")          # lowercased
    assert gpt1.decode([0, *gpt1.encode("lobster"), 0]) == "lobster "   # padding dropped


@pytest.mark.parametrize("name", ["char", "word", "bpe", "gpt1"])
def test_save_load_gives_identical_encodes(name, tmp_path, bpe, gpt1):
    tok = {"char": CharTokenizer.from_text(SAMPLE, pad=PAD_CHAR, mask=MASK_CHAR),
           "word": WordTokenizer.from_text(SAMPLE), "bpe": bpe, "gpt1": gpt1}[name]
    save_tokenizer(tok, tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path / "tokenizer.json")
    assert (type(again), again.kind, again.vocab_size) == (type(tok), name, tok.vocab_size)
    assert again.encode(SAMPLE) == tok.encode(SAMPLE)
    ids = tok.encode(SAMPLE)
    assert again.decode(ids) == tok.decode(ids) == again.decode(torch.tensor(ids))   # tensors too


def test_corrupt_tokenizer_files_raise_clear_errors(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"kind": "char", "chars": ["a"')
    with pytest.raises(ValueError, match="not valid JSON"):
        load_tokenizer(path)
    path.write_text(json.dumps({"kind": "sentencepiece"}))
    with pytest.raises(ValueError, match="unknown tokenizer kind 'sentencepiece'.*char, word, bpe, gpt1"):
        load_tokenizer(path)
    path.write_text(json.dumps({"kind": "word", "words": ["a"]}))
    with pytest.raises(ValueError, match=re.escape(f"{path}: not a tokenizer this toolkit wrote") + ".*damaged word"):
        load_tokenizer(path)
    path.write_text(json.dumps({"kind": "bpe", "hf": {"model": 3}}))
    with pytest.raises(ValueError, match="damaged bpe"):
        load_tokenizer(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_tokenizer(tmp_path / "missing.json")
