"""Corpora -> token arrays + tokenizer in a cache dir, then batches for the trainer.

    python data.py prepare tinyshakespeare --cache-dir .cache/data
    python data.py download wikitext2                 # needs internet: into $DATA_ROOT or the download root
    corpus = data.load(cfg.data, block_size, data_root, cache_dir)   # Corpus: batches, tokenizer, info

Which corpora exist, their files, tokenizers, readers and download sources: data_registry.py
(one entry per dataset). A data root holds the raw files, e.g. tinyshakespeare/input.txt,
wikitext-2/{train,valid,test}.txt, birth_places/; where they are looked for (the data root given,
the download root ~/.cache/slm-toolkit/data, the repository's corpora/) and how a missing one is
downloaded on demand: data_roots.py. A read-only data root is never written.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_cache import CACHED_FILES, checksums, discard_if_damaged, sha256_of as _sha256
from data_readers import read_text
from data_registry import TOKENIZER_FILES, check_options, entry, sources, token_corpora
from data_roots import find, target_root
from data_sources import DataError, download_files
from gpt.batches import Batches, ExampleSet
from gpt.config import DataConfig
from gpt.rundir import atomic_file, read_json, umask_mode, write_json
from gpt.tokenizer import (BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer, load_tokenizer,
                           save_tokenizer)

FORMAT = 2   # bump when the prepared layout changes: old cache folders are then ignored


@dataclass(frozen=True)
class Corpus:
    """A prepared dataset: its batches, its tokenizer and a description (`info`) for env and reports."""
    batches: Batches        # TokenStream or ExampleSet with splits ("train", "val")
    tokenizer: Tokenizer
    info: dict              # dataset, tokenizer, vocab_size, *_tokens, *_source, files, cache_dir


# ---------------------------------------------------------------- where the raw files are
# data_roots.py: the data root given, the download root, the repository's corpora/, in that order


def raw_file(rel: str, data_root: Path | str | None, hint: str = "") -> Path:
    """The raw file `rel` (a path under a data root) from the first root that has it, downloaded
    on demand (data_roots.find); `hint` says what else would do if it cannot be had."""
    return find(rel, data_root, hint)


def dataset_file(dataset_name: str, split: str, data_root: Path | str | None) -> Path:
    """Path of split (or file) `split` of a registry dataset, e.g. ("birth_places", "birth_dev.tsv"),
    checked to exist and be readable."""
    ds = entry(dataset_name)
    if split not in ds.splits:
        raise DataError(f"unknown {dataset_name} file {split!r}; choose one of: {', '.join(ds.splits)}")
    return raw_file(ds.splits[split], data_root, ds.missing.get(ds.splits[split], ""))


def vocabulary(dataset_name: str, data_root: Path | str | None) -> Tokenizer:
    """The fixed vocabulary of a registry dataset, read from its files (e.g. birth_places: wiki.txt)."""
    ds = entry(dataset_name)
    if ds.vocabulary is None:
        raise DataError(f"{dataset_name} has no fixed vocabulary; its tokenizer is learned from its "
                        f"training split (data.load)")
    return ds.vocabulary({role: raw_file(rel, data_root) for role, rel in ds.files.items()})


# ---------------------------------------------------------------- raw files -> token arrays

def _source_names(cfg: DataConfig) -> dict[str, str]:
    """Role -> raw file under the data root: "text" (single-file corpora) or "train"/"val", plus
    tokenizer files."""
    ds = entry(cfg.dataset)
    if ds.text:
        rels = {"text": ds.text}
    else:
        rels = {"train": ds.splits[cfg.train_split], "val": ds.splits[cfg.val_split]}
    rels.update(ds.files)
    rels.update(TOKENIZER_FILES.get(cfg.tokenizer, {}))
    return rels


def tokenize(cfg: DataConfig, files: dict[str, Path]) -> tuple[Tokenizer, dict[str, np.ndarray]]:
    """The tokenizer (from the training split only) and the 1-D token array of each split."""
    ds = entry(cfg.dataset)
    if ds.text:
        text = read_text(files["text"])
        n_train = int(len(text) * (1 - cfg.val_fraction))
        pieces = {"train": text[:n_train], "val": text[n_train:]}
    else:
        pieces = {role: ds.read(files[role], split) for role, split in (("train", cfg.train_split),
                                                                        ("val", cfg.val_split))}
    if ds.vocabulary is not None:
        tok = ds.vocabulary(files)
    elif cfg.tokenizer == "gpt2":
        tok = BPETokenizer.from_gpt2_files(files["encoder"], files["merges"])
    elif cfg.tokenizer == "char":
        tok = CharTokenizer.from_text(pieces["train"])
    elif cfg.tokenizer == "word":
        tok = WordTokenizer.from_text(pieces["train"])
    else:
        tok = BPETokenizer.train(pieces["train"], cfg.bpe_vocab_size)
    if all(isinstance(piece, np.ndarray) for piece in pieces.values()):   # stored as token ids
        return tok, pieces
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.uint32
    try:
        return tok, {split: np.array(tok.encode(text), dtype=dtype) for split, text in pieces.items()}
    except ValueError as exc:   # e.g. a validation character the training text never had
        raise DataError(f"cannot encode {cfg.dataset}: {exc}") from None


def _cache_key(cfg: DataConfig, files: dict[str, Path]) -> str:
    """Hash of what the prepared arrays depend on: options and each source's size and mtime.
    The split names count when the files do not tell them apart (one archive holds every split)."""
    options = {"format": FORMAT, "dataset": cfg.dataset, "tokenizer": cfg.tokenizer,
               "bpe_vocab_size": cfg.bpe_vocab_size if cfg.tokenizer == "bpe" else None,
               "val_fraction": cfg.val_fraction if "text" in files else None,
               **({"splits": [cfg.train_split, cfg.val_split]} if files.get("train") == files.get("val")
                  and "train" in files else {}),
               "files": {role: [p.name, p.stat().st_size, p.stat().st_mtime_ns] for role, p in files.items()}}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]


def prepare(cfg: DataConfig, data_root: Path | str | None = None,
            cache_dir: Path | str | None = None) -> tuple[Path, bool]:
    """Tokenize the corpus once into the cache; returns (prepared folder, True if it was cached)."""
    ds = check_options(cfg)
    rels = _source_names(cfg)
    files = {role: raw_file(rel, data_root, ds.missing.get(rel, "")) for role, rel in rels.items()}
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
        tok, arrays = tokenize(cfg, files)
        for split, ids in arrays.items():
            with atomic_file(tmp / f"{split}.npy") as f:   # fsynced before the folder's rename
                np.save(f, ids)
        save_tokenizer(tok, tmp / "tokenizer.json")
        write_json(tmp / "meta.json", {"checksums": checksums(tmp, CACHED_FILES),
            "format": FORMAT, "dataset": cfg.dataset, "tokenizer": cfg.tokenizer,
            "vocab_size": tok.vocab_size,
            **{f"{split}_tokens": len(ids) for split, ids in arrays.items()},
            "sources": {role: {"path": rels[role], "root": str(p.parents[rels[role].count("/")]),
                               "bytes": p.stat().st_size, "sha256": _sha256(p)} for role, p in files.items()},
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

def load(cfg: DataConfig, block_size: int, data_root: Path | str | None = None,
         cache_dir: Path | str | None = None) -> Corpus:
    """Prepare if needed, then open the arrays memory-mapped as the dataset's batches (TokenStream,
    or its own example layout such as wikitext2-gpt1's StridedExamples)."""
    folder, cache_hit = prepare(cfg, data_root, cache_dir)
    meta = read_json(folder / "meta.json")
    tokenizer = load_tokenizer(folder / "tokenizer.json")
    arrays = {split: np.load(folder / f"{split}.npy", mmap_mode="r") for split in ("train", "val")}
    info = {key: meta[key] for key in ("dataset", "tokenizer", "vocab_size", "train_tokens", "val_tokens")}
    first = next(iter(meta["sources"].values()))
    info.update(files={role: src["path"] for role, src in meta["sources"].items()},
                data_root=first.get("root", meta.get("data_root")), cache_dir=str(folder), cache_hit=cache_hit)
    try:
        batches: Batches = entry(cfg.dataset).examples(arrays, block_size)
    except ValueError as exc:   # e.g. a split shorter than one block
        raise DataError(str(exc)) from None
    if isinstance(batches, ExampleSet):
        info.update(train_examples=batches.size("train"), val_examples=batches.size("val"))
    return Corpus(batches=batches, tokenizer=tokenizer, info=info)


# ---------------------------------------------------------------- download (needs internet)

def download(name: str, data_root: Path | str) -> list[Path]:
    """Fetch the raw files of `name` (or "all") into data_root, checksummed; returns new files.
    Without network: a one-line DataError, nothing written."""
    groups = sources()
    if name != "all" and name not in groups:
        raise DataError(f"unknown dataset {name!r} to download; choose among: all, {', '.join(groups)}")
    return download_files([s for group in (groups if name == "all" else [name]) for s in groups[group]],
                          data_root)


# ---------------------------------------------------------------- command line

def cli(argv: list[str] | None = None) -> None:
    """`python data.py prepare|download ...`: `argv` as the command line's words (None: sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example: python data.py prepare tinyshakespeare --data-root DIR")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="tokenize a corpus into the cache (done once, reused)")
    prep.add_argument("dataset", choices=token_corpora())
    prep.add_argument("--tokenizer", help="char | word | bpe | gpt1 | gpt2 (default: the dataset's first)")
    prep.add_argument("--bpe-vocab-size", type=int, default=DataConfig().bpe_vocab_size)
    by_splits: dict[str, list[str]] = {}   # "train | valid | test" -> the datasets with those splits
    for name in token_corpora():
        if entry(name).splits:
            by_splits.setdefault(" | ".join(entry(name).splits), []).append(name)
    splits = "; ".join(f"{', '.join(names)}: {choices}" for choices, names in by_splits.items())
    prep.add_argument("--train-split", default="train", help=f"{splits} (default: train)")
    prep.add_argument("--val-split", default="valid", help=f"{splits} (default: valid)")
    prep.add_argument("--data-root", help="folder of raw corpora (default: $DATA_ROOT; missing files are "
                      "also looked for in the download root and the repository's corpora/)")
    prep.add_argument("--cache-dir", help="prepared arrays (default: $DATA_CACHE or ./.cache/data)")
    down = sub.add_parser("download", help="fetch raw files from their public sources, checksummed")
    down.add_argument("dataset", choices=["all", *sources()])
    down.add_argument("--data-root", help="folder to write into, created if missing (default: $DATA_ROOT "
                      "if writable, else the download root ~/.cache/slm-toolkit/data, where jobs look)")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            root = Path(args.data_root).expanduser() if args.data_root else target_root(None)
            for path in download(args.dataset, root):
                print(f"wrote {path}")
            print(f"{args.dataset}: files in {root} verified")
            return
        cfg = DataConfig(dataset=args.dataset, tokenizer=args.tokenizer or entry(args.dataset).tokenizers[0],
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
    cli()
