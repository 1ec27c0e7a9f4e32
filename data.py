"""Corpora -> token arrays + tokenizer in a cache dir, then batches for the trainer.

    python data.py prepare tinyshakespeare --data-root /path/to/data --cache-dir .cache/data
    python data.py download wikitext2 --data-root ~/data        # needs internet

The data root holds the raw files (it may be read-only; nothing is written there):
    tinyshakespeare/input.txt   wikitext-2/{train,valid,test}.txt   birth_places/*.tsv, wiki.txt
    wikitext-103/wikitext-103-raw-v1.zip (read in place)   gpt2/encoder.json, vocab.bpe (GPT-2 BPE)
    ift6135-wikitext2-gpt1bpe/wiki.{train,validation,test}.npz, encoder_bpe_40000.json, vocab_40000.bpe
Prepared data, one folder per (dataset, tokenizer, options, source files):
    <cache_dir>/<dataset>-<tokenizer>-<key12>/
        train.npy  val.npy   token ids (uint16, or uint32 past 65,536 ids), memory-mapped on load
        tokenizer.json       built from the training split only
        meta.json            splits, token counts, vocab size, sha256 and size of each source file
                             and of each prepared file (checked on load: a damaged folder is rebuilt)
The folder is built under a temporary name and renamed into place, so two Slurm tasks preparing
at once never see half-written files; a folder that exists is complete.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_sources import GPT1_DIR, GPT2_FILES, SOURCES, WT103_ZIP, Source
from data_cache import CACHED_FILES, checksums, discard_if_damaged, sha256_of as _sha256
from gpt.batches import Batches, ExampleSet, TokenStream
from gpt.config import DataConfig
from gpt.rundir import read_json, umask_mode, write_atomic, write_json
from gpt.tokenizer import (BPETokenizer, CharTokenizer, GPT1Tokenizer, Tokenizer, WordTokenizer,
                           load_tokenizer, save_tokenizer)

FORMAT = 2   # bump when the prepared layout changes: old cache folders are then ignored
TOKENIZERS = {"tinyshakespeare": ("char", "bpe"), "wikitext2": ("word", "bpe", "gpt2"),
              "wikitext2-gpt1": ("gpt1",), "wikitext103": ("gpt2",)}
SPLIT_FILES = {  # data.train_split / data.val_split -> file under the data root
    "wikitext2": {s: f"wikitext-2/{s}.txt" for s in ("train", "valid", "test")},
    "wikitext2-gpt1": {"train": f"{GPT1_DIR}/wiki.train.npz", "valid": f"{GPT1_DIR}/wiki.validation.npz",
                       "test": f"{GPT1_DIR}/wiki.test.npz"},
}
SPLIT_FILES["wikitext103"] = {s: WT103_ZIP for s in ("train", "valid", "test")}
BIRTH_PLACES_FILES = ("wiki.txt", "birth_places_train.tsv", "birth_dev.tsv", "birth_test_inputs.tsv")


class DataError(Exception):
    """Data is missing or unusable; the one-line message says what, where it looked, how to fix."""


@dataclass(frozen=True)
class Corpus:
    """A prepared dataset: its batches, its tokenizer and a description (`info`) for env and reports."""
    batches: Batches        # TokenStream or ExampleSet with splits ("train", "val")
    tokenizer: Tokenizer
    info: dict              # dataset, tokenizer, vocab_size, *_tokens, *_source, files, cache_dir


# ---------------------------------------------------------------- where the raw files are


def resolve_data_root(data_root: Path | str | None) -> Path:
    """The folder holding the raw corpora: the argument, else $DATA_ROOT, else a DataError."""
    if data_root in (None, ""):
        data_root = os.environ.get("DATA_ROOT", "")
    if not data_root:
        raise DataError("no data root given: pass --data-root DIR or set DATA_ROOT=DIR (the folder with "
                        "tinyshakespeare/, wikitext-2/, ...); fill it with `python data.py download "
                        "<dataset> --data-root DIR`")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"data root {root} is not a folder (from --data-root / DATA_ROOT); point it at "
                        f"the folder with tinyshakespeare/, wikitext-2/, ... or create it with "
                        f"`python data.py download <dataset> --data-root {root}`")
    return root


def _raw_file(root: Path, rel: str) -> Path:
    """`root/rel` if it is a readable file, else a DataError saying how to get it."""
    path = root / rel
    if path.is_file() and os.access(path, os.R_OK):
        return path
    if rel == SPLIT_FILES["wikitext2"]["train"]:
        raise DataError(f"{path} not found: WikiText-2 train.txt is not in the shared data (see "
                        f"SOURCES.md); get it with `python data.py download wikitext2 --data-root DIR` "
                        f"(needs internet), or train on valid with the override "
                        f"`data.train_split=valid data.val_split=test`")
    group = next((g for g, srcs in SOURCES.items() if any(s.path == rel for s in srcs)), "<dataset>")
    raise DataError(f"{path} not found or not readable; get it with "
                    f"`python data.py download {group} --data-root {root}`")


def birth_places_file(data_root: Path | str | None, name: str) -> Path:
    """Path of a CS224n birth-places file (wiki.txt, birth_places_train.tsv, birth_dev.tsv,
    birth_test_inputs.tsv) under <data_root>/birth_places/, checked to exist and be readable."""
    if name not in BIRTH_PLACES_FILES:
        raise DataError(f"unknown birth-places file {name!r}; choose one of: {', '.join(BIRTH_PLACES_FILES)}")
    return _raw_file(resolve_data_root(data_root), f"birth_places/{name}")


# ---------------------------------------------------------------- raw files -> token arrays

def _check_options(cfg: DataConfig) -> None:
    if cfg.dataset not in TOKENIZERS:
        raise DataError(f"unknown dataset {cfg.dataset!r}; choose data.dataset among: {', '.join(TOKENIZERS)}")
    if cfg.tokenizer not in TOKENIZERS[cfg.dataset]:
        raise DataError(f"data.tokenizer={cfg.tokenizer} does not fit data.dataset={cfg.dataset}; "
                        f"choose data.tokenizer among: {', '.join(TOKENIZERS[cfg.dataset])}")
    if cfg.dataset in SPLIT_FILES:
        for key, split in (("train_split", cfg.train_split), ("val_split", cfg.val_split)):
            if split not in SPLIT_FILES[cfg.dataset]:
                raise DataError(f"data.{key}={split} is not a split of {cfg.dataset}; "
                                f"choose among: {', '.join(SPLIT_FILES[cfg.dataset])}")
        if cfg.train_split == cfg.val_split:
            raise DataError(f"data.train_split and data.val_split are both {cfg.train_split!r}; "
                            f"validate on another split, e.g. data.val_split=test")


def _source_files(cfg: DataConfig, root: Path) -> dict[str, Path]:
    """Role -> raw file: "text" (single-file corpora) or "train"/"val", plus tokenizer files."""
    if cfg.dataset == "tinyshakespeare":
        return {"text": _raw_file(root, "tinyshakespeare/input.txt")}
    files = {"train": _raw_file(root, SPLIT_FILES[cfg.dataset][cfg.train_split]),
             "val": _raw_file(root, SPLIT_FILES[cfg.dataset][cfg.val_split])}
    if cfg.dataset == "wikitext2-gpt1":
        files["encoder"] = _raw_file(root, f"{GPT1_DIR}/encoder_bpe_40000.json")
        files["merges"] = _raw_file(root, f"{GPT1_DIR}/vocab_40000.bpe")
    if cfg.tokenizer == "gpt2":
        files.update({role: _raw_file(root, rel) for role, rel in GPT2_FILES.items()})
    return files


def _split_text(cfg: DataConfig, files: dict[str, Path], role: str) -> str:
    """The text of split `role` ("train"/"val"): a plain file, or a member of the WT-103 zip."""
    if cfg.dataset != "wikitext103":
        return _read_text(files[role])
    split = cfg.train_split if role == "train" else cfg.val_split
    try:
        with zipfile.ZipFile(files[role]) as archive:
            return archive.read(f"wikitext-103-raw/wiki.{split}.raw").decode("utf-8")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{files[role]} is not the WikiText-103 raw zip ({exc}); fetch it again with "
                        f"`python data.py download wikitext103 --data-root DIR`") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:   # a one-line error, not a traceback
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); convert it (`iconv -t utf-8`) "
                        f"or fetch it again with `python data.py download`") from None


def _tokenize(cfg: DataConfig, files: dict[str, Path]) -> tuple[Tokenizer, dict[str, np.ndarray]]:
    """The tokenizer (from the training split only) and the 1-D token array of each split."""
    if cfg.dataset == "wikitext2-gpt1":   # already GPT-1 ids, shifted by one (0 = padding)
        tok = GPT1Tokenizer.from_files(files["encoder"], files["merges"])
        with np.load(files["train"]) as train, np.load(files["val"]) as val:
            return tok, {"train": train["tokens"], "val": val["tokens"]}
    if cfg.dataset == "tinyshakespeare":   # nanoGPT: first 90% train, last 10% val
        text = _read_text(files["text"])
        n_train = int(len(text) * (1 - cfg.val_fraction))
        texts = {"train": text[:n_train], "val": text[n_train:]}
    else:
        texts = {split: _split_text(cfg, files, split) for split in ("train", "val")}
    if cfg.tokenizer == "gpt2":
        tok = BPETokenizer.from_gpt2_files(files["encoder"], files["merges"])
    elif cfg.tokenizer == "char":
        tok = CharTokenizer.from_text(texts["train"])
    elif cfg.tokenizer == "word":
        tok = WordTokenizer.from_text(texts["train"])
    else:
        tok = BPETokenizer.train(texts["train"], cfg.bpe_vocab_size)
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.uint32
    try:
        return tok, {split: np.array(tok.encode(text), dtype=dtype) for split, text in texts.items()}
    except ValueError as exc:   # e.g. a validation character the training text never had
        raise DataError(f"cannot encode {cfg.dataset}: {exc}") from None


def _cache_key(cfg: DataConfig, files: dict[str, Path]) -> str:
    """Hash of what the prepared arrays depend on: options and each source's size and mtime."""
    options = {"format": FORMAT, "dataset": cfg.dataset, "tokenizer": cfg.tokenizer,
               "bpe_vocab_size": cfg.bpe_vocab_size if cfg.tokenizer == "bpe" else None,
               "val_fraction": cfg.val_fraction if "text" in files else None,
               **({"splits": [cfg.train_split, cfg.val_split]} if cfg.dataset == "wikitext103" else {}),
               "files": {role: [p.name, p.stat().st_size, p.stat().st_mtime_ns] for role, p in files.items()}}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())


def prepare(cfg: DataConfig, data_root: Path | str | None = None,
            cache_dir: Path | str | None = None) -> tuple[Path, bool]:
    """Tokenize the corpus once into the cache; returns (prepared folder, True if it was cached)."""
    _check_options(cfg)
    root = resolve_data_root(data_root)
    files = _source_files(cfg, root)
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    final = cache_dir / f"{cfg.dataset}-{cfg.tokenizer}-{_cache_key(cfg, files)}"
    if (final / "meta.json").is_file() and not discard_if_damaged(final):   # damaged: rebuilt below
        return final, True
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{final.name}."))
    except OSError as exc:
        raise DataError(f"cannot write to cache dir {cache_dir} ({exc}); pass --cache-dir DIR or "
                        f"set DATA_CACHE=DIR to a writable folder") from None
    try:
        start_s = time.perf_counter()
        tok, arrays = _tokenize(cfg, files)
        for split, ids in arrays.items():
            _save_npy(tmp / f"{split}.npy", ids)
        save_tokenizer(tok, tmp / "tokenizer.json")
        write_json(tmp / "meta.json", {"checksums": checksums(tmp, CACHED_FILES),
            "format": FORMAT, "dataset": cfg.dataset, "tokenizer": cfg.tokenizer,
            "vocab_size": tok.vocab_size, "data_root": str(root),
            **{f"{split}_tokens": len(ids) for split, ids in arrays.items()},
            "sources": {role: {"path": str(p.relative_to(root)), "bytes": p.stat().st_size,
                               "sha256": _sha256(p)} for role, p in files.items()},
            "prepare_s": round(time.perf_counter() - start_s, 3)})
        for path in [tmp, *tmp.iterdir()]:   # temp files are private: follow the umask
            path.chmod(umask_mode(path.is_dir()))
        try:
            os.rename(tmp, final)
        except OSError:   # another task renamed its copy first: theirs is complete, use it
            if not (final / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, False


def default_cache_dir() -> Path:
    """$DATA_CACHE (with `~` expanded), else ./.cache/data."""
    return Path(os.environ.get("DATA_CACHE") or ".cache/data").expanduser()


# ---------------------------------------------------------------- token arrays -> batches

class StridedExamples(ExampleSet):
    """IFT6135's `Wikitext2(break_mode="none")`: example i is tokens[i*T : i*T+T+1] of the split's
    concatenated documents (source = first T, target = last T, consecutive examples overlap by one);
    the last one is zero-padded with mask 0. Read lazily from memory-mapped arrays.
    (The original started the last, partial example one token late; here it starts where the
    previous one ended, so every token but the first is a target exactly once.)
    """

    def __init__(self, tokens: dict[str, np.ndarray], block_size: int):
        self.tokens = tokens
        self.splits = tuple(tokens)
        self.block_size = block_size

    def size(self, split: str) -> int:
        """Number of block_size windows that cover `split`'s targets (the last one padded)."""
        return -(-(len(self.tokens[split]) - 1) // self.block_size)   # ceil(targets / T)

    def example(self, split: str, index: int, rng: np.random.Generator):
        T = self.block_size
        piece = np.asarray(self.tokens[split][index * T: index * T + T + 1])   # (<= T+1,)
        n_targets = len(piece) - 1
        x, y = np.zeros(T, dtype=piece.dtype), np.zeros(T, dtype=piece.dtype)
        mask = np.zeros(T, dtype=np.float32)
        x[:n_targets], y[:n_targets], mask[:n_targets] = piece[:-1], piece[1:], 1.0
        return x, y, mask


def load(cfg: DataConfig, block_size: int, data_root: Path | str | None = None,
         cache_dir: Path | str | None = None) -> Corpus:
    """Prepare if needed, then open the arrays memory-mapped: TokenStream, or StridedExamples (gpt1)."""
    folder, cache_hit = prepare(cfg, data_root, cache_dir)
    meta = read_json(folder / "meta.json")
    tokenizer = load_tokenizer(folder / "tokenizer.json")
    arrays = {split: np.load(folder / f"{split}.npy", mmap_mode="r") for split in ("train", "val")}
    info = {key: meta[key] for key in ("dataset", "tokenizer", "vocab_size", "train_tokens", "val_tokens")}
    info.update(files={role: src["path"] for role, src in meta["sources"].items()},
                data_root=str(resolve_data_root(data_root)), cache_dir=str(folder), cache_hit=cache_hit)
    if cfg.dataset == "wikitext2-gpt1":
        batches: Batches = StridedExamples(arrays, block_size)
        info.update(train_examples=batches.size("train"), val_examples=batches.size("val"))
    else:
        try:
            batches = TokenStream(arrays, block_size)
        except ValueError as exc:
            raise DataError(str(exc)) from None
    return Corpus(batches=batches, tokenizer=tokenizer, info=info)


# ---------------------------------------------------------------- download (needs internet)

def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except OSError as exc:   # URLError, timeouts: usually no internet on compute nodes
        raise DataError(f"cannot fetch {url} ({exc}); download on a machine with internet "
                        f"(e.g. the login node) or copy the file by hand") from None


def _verify(source: Source, data: bytes) -> None:
    """DataError unless `data` has the sha256 (or, lacking one, the git blob id) in SOURCES."""
    if source.sha256:
        kind, want, got = "sha256", source.sha256, hashlib.sha256(data).hexdigest()
    else:   # git's blob id: sha1 of "blob <size>\0" + content
        kind, want = "git blob id", source.git_blob
        got = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    if got != want:
        raise DataError(f"{source.url} has {kind} {got}, expected {want}; the file changed upstream "
                        f"or the download was damaged: nothing was written")


def download(dataset: str, data_root: Path | str) -> list[Path]:
    """Fetch the raw files of `dataset` (or "all") into data_root, checksummed; returns new files."""
    groups = list(SOURCES) if dataset == "all" else [dataset]
    if not set(groups) <= set(SOURCES):
        raise DataError(f"unknown dataset {dataset!r} to download; choose among: all, {', '.join(SOURCES)}")
    root, written = Path(data_root).expanduser(), []
    for source in (s for group in groups for s in SOURCES[group]):
        path = root / source.path
        if path.is_file():
            try:
                _verify(source, path.read_bytes())
                continue
            except DataError:
                pass   # a damaged copy: fetch it again
        data = _fetch(source.url)
        _verify(source, data)
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise DataError(f"cannot write {path} ({exc}); pass a writable --data-root") from None
        written.append(path)
    return written


# ---------------------------------------------------------------- command line

def _cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example: python data.py prepare tinyshakespeare --data-root DIR")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="tokenize a corpus into the cache (done once, reused)")
    prep.add_argument("dataset", choices=list(TOKENIZERS))
    prep.add_argument("--tokenizer", help="char | word | bpe | gpt1 | gpt2 (default: the dataset's first)")
    prep.add_argument("--bpe-vocab-size", type=int, default=DataConfig().bpe_vocab_size)
    prep.add_argument("--train-split", default="train", help="wikitext2: train | valid | test")
    prep.add_argument("--val-split", default="valid", help="wikitext2: train | valid | test")
    prep.add_argument("--data-root", help="folder of raw corpora (default: $DATA_ROOT)")
    prep.add_argument("--cache-dir", help="prepared arrays (default: $DATA_CACHE or ./.cache/data)")
    down = sub.add_parser("download", help="fetch raw files from their public sources, checksummed")
    down.add_argument("dataset", choices=["all", *SOURCES])
    down.add_argument("--data-root", required=True, help="folder to write into (created if missing)")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            for path in download(args.dataset, args.data_root):
                print(f"wrote {path}")
            print(f"{args.dataset}: files in {Path(args.data_root).expanduser()} verified")
            return
        cfg = DataConfig(dataset=args.dataset, tokenizer=args.tokenizer or TOKENIZERS[args.dataset][0],
                         bpe_vocab_size=args.bpe_vocab_size, train_split=args.train_split,
                         val_split=args.val_split)
        start_s = time.perf_counter()
        folder, cached = prepare(cfg, args.data_root, args.cache_dir)
        meta = read_json(folder / "meta.json")
        print(f"{'cached' if cached else 'wrote'} {folder} ({time.perf_counter() - start_s:.1f} s): "
              f"{cfg.dataset} {cfg.tokenizer} vocab {meta['vocab_size']:,}, "
              f"train {meta['train_tokens']:,} tokens, val {meta['val_tokens']:,} tokens")
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    _cli()
