"""WikiText-103 + GPT-2 BPE: offline one-line errors naming the download; the BPE from its files."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import data
from data_registry import WT103_ZIP, sources
from gpt.config import DataConfig
from gpt.tokenizer import BPETokenizer, load_tokenizer


def _gpt2_files(root):
    """A toy encoder.json / vocab.bpe in GPT-2's formats (byte-level symbols, #version header)."""
    (root / "gpt2").mkdir(parents=True)
    symbols = ["h", "i", "Ġ", "\u010a", "hi", "Ġhi"]
    (root / "gpt2" / "encoder.json").write_text(json.dumps({s: i for i, s in enumerate(symbols)}))
    (root / "gpt2" / "vocab.bpe").write_text("#version: 0.2\nh i\nĠ hi\n")


def test_offline_without_files_is_one_line_error_naming_the_download(tmp_path):
    for cfg, needle in ((DataConfig(dataset="wikitext103", tokenizer="gpt2"), "download wikitext103"),
                        (DataConfig(dataset="wikitext2", tokenizer="gpt2", train_split="valid",
                                    val_split="test"), "download gpt2")):
        root = tmp_path / cfg.dataset
        if cfg.dataset == "wikitext2":
            (root / "wikitext-2").mkdir(parents=True)
            for split in ("valid", "test"):
                (root / "wikitext-2" / f"{split}.txt").write_text("hi hi\n")
        root.mkdir(exist_ok=True)
        with pytest.raises(data.DataError) as err:
            data.prepare(cfg, root, tmp_path / "cache")
        assert needle in str(err.value) and "\n" not in str(err.value)


def test_gpt2_bpe_from_its_files_and_wt103_zip_read_in_place(tmp_path):
    _gpt2_files(tmp_path)
    tok = BPETokenizer.from_gpt2_files(tmp_path / "gpt2" / "encoder.json", tmp_path / "gpt2" / "vocab.bpe")
    assert tok.encode("hi hi\n") == [4, 5, 3] and tok.decode([4, 5, 3]) == "hi hi\n"
    (tmp_path / "wikitext-103").mkdir()
    with zipfile.ZipFile(tmp_path / WT103_ZIP, "w") as z:
        for split in ("train", "valid", "test"):
            z.writestr(f"wikitext-103-raw/wiki.{split}.raw", "hi hi\n" * (40 if split == "train" else 10))
    cfg = DataConfig(dataset="wikitext103", tokenizer="gpt2", val_split="test")
    folder, _ = data.prepare(cfg, tmp_path, tmp_path / "cache")
    assert np.load(folder / "train.npy").tolist() == [4, 5, 3] * 40
    assert load_tokenizer(folder / "tokenizer.json").encode("hi") == [4]
    other, _ = data.prepare(DataConfig(dataset="wikitext103", tokenizer="gpt2"), tmp_path, tmp_path / "cache")
    assert other != folder   # another split of the same zip is another cache entry


def test_sources_have_real_urls_and_sha256():
    for group in ("wikitext103", "gpt2"):
        for src in sources()[group]:
            assert src.url.startswith("https://") and len(src.sha256) == 64


def test_long_text_cut_into_chunks_encodes_like_one_piece():
    tok = BPETokenizer.train("the cat sat  \n on the mat.\n\n = Heading = \n" * 50, 300)
    text = "= Valkyria Chronicles III = \n\n Senjō no  Valkyria 3 :\n 12 cats ,  sat\t\n" * 40
    assert tok.encode(text, chunk_chars=37) == tok.encode(text)
