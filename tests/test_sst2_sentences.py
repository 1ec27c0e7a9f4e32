"""Two SST-2s, said apart: `sst2-sentences` (seed 002's sentence-level split, Kim 2014's
stsa.binary `label sentence` files) and `sst2` (SentEval's copy, train = GLUE's phrases). The
shared data root has neither (SOURCES.md), so the reading test writes files in that format."""
import re

import pytest

import data
from data_registry import DATASETS
from gpt.config import DataConfig
from jobs import classify
from jobs.classify_data import read_label_first, read_splits
from jobs.context import JobContext
from jobs.errors import UserError


def test_both_are_registered_with_pinned_sources_and_sha256():
    sentences, phrases = DATASETS["sst2-sentences"], DATASETS["sst2"]
    assert sentences.splits == {"train": "sst2-sentences/stsa.binary.train",
                                "valid": "sst2-sentences/stsa.binary.dev",
                                "test": "sst2-sentences/stsa.binary.test"}
    for source in sentences.sources + phrases.sources:
        assert re.fullmatch(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/.+", source.url)
        assert re.fullmatch(r"[0-9a-f]{64}", source.sha256)
    assert {s.path for s in sentences.sources} == set(sentences.splits.values())
    assert classify.default().data.dataset == "sst2-sentences"     # the seed's 6,920 sentences


def test_the_sentence_files_are_read_as_label_then_sentence(tmp_path, data_root):
    folder = tmp_path / "root" / "sst2-sentences"
    folder.mkdir(parents=True)
    lines = {"stsa.binary.train": "1 a stirring , funny and finally transporting film\n0 one long string of cliches .\n",
             "stsa.binary.dev": "0 no movement , no yuks .\n1 it 's a charming journey .\n",
             "stsa.binary.test": "1 a gem .\n\n0 drivel .\n"}
    for name, text in lines.items():
        (folder / name).write_text(text)
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=tmp_path / "root", cache_dir=tmp_path / "c")
    splits = read_splits(DataConfig(dataset="sst2-sentences", train_split="train", val_split="valid",
                                    test_split="test"), ctx)
    assert splits["train"] == (["a stirring , funny and finally transporting film",
                                "one long string of cliches ."], ["1", "0"])
    assert splits["test"] == (["a gem .", "drivel ."], ["1", "0"])
    (folder / "stsa.binary.dev").write_text("1\n")
    with pytest.raises(UserError, match="line 1 is not `label sentence`"):
        read_label_first(folder / "stsa.binary.dev")


def test_missing_files_name_the_download_command(data_root):
    with pytest.raises(data.DataError, match="sst2-sentences"):
        data.dataset_file("sst2-sentences", "train", data_root)
