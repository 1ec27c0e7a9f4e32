"""data.py on the real corpora: pinned sizes, memory-mapped arrays, the cache, and clear errors."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data
import data_sources
from data import DataError, load
from data_registry import sources
from data_sources import Source
from gpt.config import DataConfig

REPO = Path(__file__).resolve().parents[1]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_tinyshakespeare_char(data_root, tmp_path):
    before = _files(data_root)
    corpus = load(DataConfig(), block_size=8, data_root=data_root, cache_dir=tmp_path)
    info, batches = corpus.info, corpus.batches
    assert (info["vocab_size"], info["train_tokens"], info["val_tokens"]) == (65, 1003854, 111540)
    assert info["cache_hit"] is False and info["files"] == {"text": "tinyshakespeare/input.txt"}
    assert all(isinstance(batches.tokens[s], np.memmap) for s in ("train", "val"))
    x, y, mask = batches.train_batch(seed=1, index=0, batch_size=4)
    assert x.shape == y.shape == (4, 8) and mask is None
    assert (x[:, 1:] == y[:, :-1]).all()
    first = next(batches.eval_batches("val", batch_size=2, max_batches=1))[0]
    val_start = (data_root / "tinyshakespeare/input.txt").read_text()[1003854:1003854 + 8]
    assert corpus.tokenizer.decode(first[0].tolist()) == val_start
    assert _files(data_root) == before   # the data root is only read


def test_second_load_hits_the_cache(data_root, tmp_path, monkeypatch):
    first = load(DataConfig(), block_size=8, data_root=data_root, cache_dir=tmp_path)

    def no_tokenizing(*args):
        raise AssertionError("prepared again despite the cache")
    monkeypatch.setattr(data, "tokenize", no_tokenizing)
    second = load(DataConfig(), block_size=16, data_root=data_root, cache_dir=tmp_path)
    assert second.info["cache_hit"] is True and second.info["cache_dir"] == first.info["cache_dir"]
    assert [p.name for p in tmp_path.iterdir()] == [Path(first.info["cache_dir"]).name]
    assert sorted(p.name for p in Path(first.info["cache_dir"]).iterdir()) == [
        "meta.json", "tokenizer.json", "train.npy", "val.npy"]


def test_concurrent_prepare_keeps_the_first_complete_copy(data_root, tmp_path, monkeypatch):
    real_tokenize = data.tokenize

    def racing(cfg, files):   # another Slurm task finishes while this one is still tokenizing
        monkeypatch.setattr(data, "tokenize", real_tokenize)
        data.prepare(cfg, data_root, tmp_path)
        return real_tokenize(cfg, files)
    monkeypatch.setattr(data, "tokenize", racing)
    folder, cached = data.prepare(DataConfig(), data_root, tmp_path)
    assert not cached and (folder / "meta.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]   # no temp folders left


@pytest.fixture
def tiny_root(tmp_path, data_root):
    """A data root with the first 40,000 characters of tiny shakespeare: fast BPE training."""
    text = (data_root / "tinyshakespeare/input.txt").read_text()[:40000]
    (tmp_path / "root/tinyshakespeare").mkdir(parents=True)
    (tmp_path / "root/tinyshakespeare/input.txt").write_text(text)
    return tmp_path / "root"


def test_bpe_on_a_slice_and_options_change_the_cache_key(tiny_root, tmp_path):
    cfg = DataConfig(tokenizer="bpe", bpe_vocab_size=300)
    corpus = load(cfg, block_size=16, data_root=tiny_root, cache_dir=tmp_path / "cache")
    assert corpus.info["vocab_size"] == 300
    val = np.asarray(corpus.batches.tokens["val"]).tolist()
    assert corpus.tokenizer.decode(val) == (tiny_root / "tinyshakespeare/input.txt").read_text()[36000:]
    other = load(DataConfig(tokenizer="bpe", bpe_vocab_size=320), 16, tiny_root, tmp_path / "cache")
    assert other.info["cache_dir"] != corpus.info["cache_dir"] and other.info["vocab_size"] == 320


def test_wikitext2_without_train_txt_says_how_to_fix(data_root, tmp_path):
    with pytest.raises(DataError) as err:   # offline (conftest): the one line says what to run
        load(DataConfig(dataset="wikitext2", tokenizer="word"), 32, data_root, tmp_path)
    message = str(err.value)
    assert f"wikitext-2/train.txt not found in the data roots ({data_root}, " in message
    assert "\n" not in message and "TOOLKIT_OFFLINE" in message
    assert "data.train_split=valid data.val_split=test" in message
    assert "`python data.py download wikitext2` on a machine with internet" in message   # not into data_root


def test_wikitext2_word_on_valid_and_test(data_root, tmp_path):
    cfg = DataConfig(dataset="wikitext2", tokenizer="word", train_split="valid", val_split="test")
    corpus = load(cfg, block_size=32, data_root=data_root, cache_dir=tmp_path)
    # valid.txt: 213,886 words + 3,760 <eos>, 13,776 types + <eos>; test.txt: 241,211 + 4,358
    assert (corpus.info["train_tokens"], corpus.info["val_tokens"]) == (217646, 245569)
    assert corpus.info["vocab_size"] == 13777
    x, y, _ = next(corpus.batches.eval_batches("train", batch_size=1, max_batches=1))
    assert corpus.tokenizer.decode(x[0, :6].tolist()) == "\n= Homarus gammarus =\n"


def test_wikitext2_gpt1_sequences_of_256_with_masks(data_root, tmp_path):
    corpus = load(DataConfig(dataset="wikitext2-gpt1", tokenizer="gpt1"), 256, data_root, tmp_path)
    batches, info = corpus.batches, corpus.info
    assert info["vocab_size"] == corpus.tokenizer.vocab_size == 40479
    # ceil((tokens - 1) / 256): 2,356,376 train and 245,046 validation tokens
    assert (info["train_examples"], info["val_examples"]) == (9205, 958)
    x, y, mask = batches.train_batch(seed=0, index=0, batch_size=3)
    assert x.shape == y.shape == mask.shape == (3, 256)
    assert corpus.tokenizer.decode(batches.example("val", 0, None)[0][:8].tolist()).startswith(
        "= homarus gammarus =")
    masks = [m for _, _, m in batches.eval_batches("val", batch_size=64, max_batches=0)]
    assert sum(float(m.sum()) for m in masks) == 245046 - 1       # every target counted once
    x, y, mask = batches.example("val", 957, None)                 # the padded last sequence
    assert mask.sum() == 245045 - 957 * 256 and (x[53:] == 0).all() and (y[53:] == 0).all()
    assert (x[1:53] == y[:52]).all()


def test_without_a_data_root_tiny_shakespeare_comes_with_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("DATA_ROOT", raising=False)
    corpus = load(DataConfig(), 8, None, tmp_path)
    assert corpus.info["data_root"] == str(REPO / "corpora") and corpus.info["vocab_size"] == 65
    readme = (REPO / "corpora/tinyshakespeare/README.md").read_text()
    assert hashlib.sha256((REPO / "corpora/tinyshakespeare/input.txt").read_bytes()).hexdigest() in readme
    with pytest.raises(DataError, match=f"data root {tmp_path / 'nowhere'} is not a folder"):
        load(DataConfig(), 8, tmp_path / "nowhere", tmp_path)
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "nowhere"))   # a typo is not silently ignored
    with pytest.raises(DataError, match="from --data-root / DATA_ROOT"):
        load(DataConfig(), 8, None, tmp_path)


def test_missing_file_error_gives_path_and_download_command(tmp_path):
    with pytest.raises(DataError, match=rf"birth_places/wiki.txt not found in the data roots \({tmp_path}, .*"
                                        rf"python data.py download birth_places --data-root {tmp_path}`"):
        data.dataset_file("birth_places", "wiki.txt", tmp_path)
    assert not any(tmp_path.iterdir())   # nothing written


def test_bad_options_list_the_choices(data_root, tmp_path):
    with pytest.raises(DataError, match="choose data.tokenizer among: char, bpe"):
        load(DataConfig(tokenizer="gpt1"), 8, data_root, tmp_path)
    with pytest.raises(DataError, match="choose data.dataset among: tinyshakespeare, wikitext2"):
        load(DataConfig(dataset="ptb"), 8, data_root, tmp_path)
    with pytest.raises(DataError, match="both 'valid'"):
        load(DataConfig(dataset="wikitext2", tokenizer="word", train_split="valid"), 8, data_root, tmp_path)


def test_birth_places_file(data_root, tmp_path):
    assert data.dataset_file("birth_places", "birth_dev.tsv", data_root) == data_root / "birth_places/birth_dev.tsv"
    with pytest.raises(DataError, match="choose one of: wiki.txt"):
        data.dataset_file("birth_places", "birth_train.tsv", data_root)


def test_git_blob_check_for_files_without_sha256(tmp_path):
    # `printf 'hello\n' | git hash-object --stdin` = ce0136...
    source = Source("x.txt", "https://example.invalid/x.txt",
                    git_blob="ce013625030ba8dba906f756967f9e9ca394464a")
    (tmp_path / "x.txt").write_bytes(b"hello\n")
    data_sources.check_file(source, tmp_path / "x.txt", source.url)
    (tmp_path / "x.txt").write_bytes(b"hello")
    with pytest.raises(DataError, match="git blob id"):
        data_sources.check_file(source, tmp_path / "x.txt", source.url)
    train = next(s for s in sources()["wikitext2"] if s.path.endswith("train.txt"))
    assert (train.sha256, train.git_blob) == ("", "2d84b35af79e411d73ea7cae83c73964c6ac83b4")
    assert all(s.sha256 or s.git_blob for group in sources().values() for s in group)
    assert hashlib.sha1(b"blob 0\0").hexdigest() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_cli_help_and_errors(capsys, data_root, tmp_path):
    for argv in (["--help"], ["prepare", "--help"], ["download", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            data.cli(argv)
        assert exit_.value.code == 0
    assert "--cache-dir" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        data.cli(["prepare", "wikitext2", "--data-root", str(data_root), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_cli_prepare_subprocess(data_root, tmp_path):
    env = {**os.environ, "DATA_ROOT": str(data_root)}
    done = subprocess.run([sys.executable, "data.py", "prepare", "tinyshakespeare", "--cache-dir",
                           str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "vocab 65" in done.stdout and "train 1,003,854 tokens" in done.stdout
