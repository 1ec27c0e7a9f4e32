"""The dataset registry: a corpus is one entry (here one written by the test), every entry's files
can be fetched, and names or tokenizers that do not fit are one-line errors listing the choices."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import data
import data_registry
from data import DataError
from data_registry import DATASETS, TOKENIZER_FILES, TOKENIZER_SOURCES, Dataset, sources
from data_sources import Source
from gpt.config import DataConfig

TRAIN = "the cat sat on the mat\nthe dog sat on the log\n" * 20
VALID = "the cat sat on the log\n" * 5


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A corpus the test writes, registered as one entry: files, tokenizers, reader, download."""
    root = tmp_path / "root"
    (root / "toy").mkdir(parents=True)
    (root / "toy/train.txt").write_text(TRAIN)
    (root / "toy/valid.txt").write_text(VALID)
    monkeypatch.setitem(DATASETS, "toy", Dataset(
        tokenizers=("word", "char"), splits={"train": "toy/train.txt", "valid": "toy/valid.txt"},
        read=lambda path, split: path.read_text().upper(),   # its own reader
        sources=(Source("toy/valid.txt", "https://example.invalid/valid.txt",
                        hashlib.sha256(VALID.encode()).hexdigest()),)))
    return root


def test_a_dataset_that_is_one_entry_loads_end_to_end(toy, tmp_path, capsys):
    corpus = data.load(DataConfig(dataset="toy", tokenizer="word"), 4, toy, tmp_path / "cache")
    info = corpus.info
    assert info["files"] == {"train": "toy/train.txt", "val": "toy/valid.txt"} and not info["cache_hit"]
    # <unk>, <eos> + 7 words (the cat sat on mat dog log); each line: 6 words + <eos>
    assert (info["vocab_size"], info["train_tokens"], info["val_tokens"]) == (9, 280, 35)
    val = np.asarray(corpus.batches.tokens["val"]).tolist()
    assert corpus.tokenizer.decode(val[:7]) == "THE CAT SAT ON THE LOG\n"   # read by its reader
    x, y, mask = corpus.batches.train_batch(seed=0, index=0, batch_size=2)
    assert x.shape == y.shape == (2, 4) and mask is None and (x[:, 1:] == y[:, :-1]).all()
    again = data.load(DataConfig(dataset="toy", tokenizer="word"), 8, toy, tmp_path / "cache")
    assert again.info["cache_hit"] and again.info["cache_dir"] == info["cache_dir"]
    data.cli(["prepare", "toy", "--data-root", str(toy), "--cache-dir", str(tmp_path / "cache")])
    assert capsys.readouterr().out.startswith("cached ")   # the CLI knows it too, default tokenizer first


def test_its_download_comes_from_the_entry(toy, tmp_path, monkeypatch):
    monkeypatch.delenv("TOOLKIT_OFFLINE")
    monkeypatch.setenv("TOOLKIT_DATA_MIRROR", (toy).as_uri())   # a file:// copy of its data root
    assert data.download("toy", tmp_path / "dest") == [tmp_path / "dest/toy/valid.txt"]
    assert (tmp_path / "dest/toy/valid.txt").read_text() == VALID


def test_hostile_names_are_one_line_errors_listing_the_choices(toy, data_root, tmp_path):
    cases = [(DataConfig(dataset="ptb"), "unknown dataset 'ptb'; choose data.dataset among: tinyshakespeare, "
                                         "wikitext2, wikitext2-gpt1, wikitext103, toy"),
             (DataConfig(dataset="toy", tokenizer="gpt1"), "choose data.tokenizer among: word, char"),
             (DataConfig(dataset="wikitext103", tokenizer="char"), "choose data.tokenizer among: gpt2"),
             (DataConfig(dataset="birth_places"), "is read by the pretrain, finetune and evaluate jobs"),
             (DataConfig(dataset="toy", tokenizer="word", val_split="test"), "choose among: train, valid")]
    for cfg, needle in cases:
        with pytest.raises(DataError) as err:
            data.load(cfg, 8, data_root, tmp_path)
        assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)
    with pytest.raises(DataError, match="unknown dataset 'nope'; choose one of: tinyshakespeare, .*, sst2, sst2-sentences"):
        data.dataset_file("nope", "train", data_root)
    with pytest.raises(DataError, match="unknown toy file 'test'; choose one of: train, valid"):
        data.dataset_file("toy", "test", toy)
    with pytest.raises(DataError, match="toy has no fixed vocabulary"):
        data.vocabulary("toy", toy)
    with pytest.raises(DataError, match="choose among: all, tinyshakespeare, .*toy, gpt2"):
        data.download("ptb", tmp_path)


def test_an_entry_that_cannot_be_read_is_refused_when_written():
    with pytest.raises(ValueError, match="either text= .* or splits="):
        Dataset(tokenizers=("char",), text="a.txt", splits={"train": "b.txt"})
    with pytest.raises(ValueError, match="needs tokenizers="):
        Dataset(text="a.txt")


def test_birth_places_vocabulary_comes_from_the_registry(data_root):
    tok = data.vocabulary("birth_places", data_root)
    assert (tok.pad_id, tok.mask_id) == (0, 1) and tok.vocab_size > 100
    wiki = (data_root / "birth_places/wiki.txt").read_text(encoding="utf-8")
    assert tok.vocab_size == len(set(wiki)) + 2


def test_every_file_an_entry_reads_can_be_downloaded():
    groups = sources()
    for name, ds in DATASETS.items():
        named = {ds.text, *ds.splits.values(), *ds.files.values()} - {""}
        fetched = {s.path for s in ds.sources}
        assert named <= fetched, f"{name}: no source for {named - fetched}"
        assert groups[name] == ds.sources
    for tokenizer, files in TOKENIZER_FILES.items():
        assert set(files.values()) == {s.path for s in TOKENIZER_SOURCES[tokenizer]}
    assert data_registry.token_corpora() == ["tinyshakespeare", "wikitext2", "wikitext2-gpt1",
                                             "wikitext103"]
