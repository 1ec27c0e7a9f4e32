"""Labelled text for `classify`: `text<TAB>label` files or a `datasets.load_from_disk` folder.

    splits = read_splits(cfg.data, ctx)            # {"train": (texts, labels), "val": ..., "test": ...}
    labels = label_names(splits)                   # class id -> label string, from the train split

`data.dataset` is one of
- `sst2-sentences`: UW CSE 447/517 A2's SST-2, the sentence-level split (train 6,920 / valid 872 / test
  1,821 sentences), <data_root>/sst2-sentences/stsa.binary.{train,dev,test} (`label sentence`
  lines), fetched by `python data.py download sst2-sentences`;
- `sst2`: SentEval's copy, whose train split is GLUE's 67,349 phrases (valid 872 / test 1,821
  sentences as above), <data_root>/sst2/{train,valid,test}.tsv, `python data.py download sst2`;
- `smoke-sources`: a tiny set derived deterministically from the shared corpora (a line of Tiny
  Shakespeare vs a sentence of WikiText-2), so `--preset smoke` works with no labelled data at hand;
- a folder holding <split>.tsv files (split names from data.train_split / val_split / test_split,
  with or without `.tsv`), or a Hugging Face dataset saved with `save_to_disk` (needs `datasets`;
  columns data.text_column / data.label_column).
A TSV line is `text<TAB>label` (split at the last tab); a first line `text<TAB>label` naming the
columns is a header and skipped (also after a UTF-8 byte-order mark, which is dropped). Labels are
any strings; class ids follow the sorted train labels (numerically when all are ASCII integers such
as `-1`, `0`, `12`, so SST-2's 0/1 stay 0/1; `²` or `--1` sort as text). An empty text is refused.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import data
from gpt.config import DataConfig
from gpt.rundir import write_atomic
from jobs.errors import UserError
from jobs.context import JobContext

Split = tuple[list[str], list[str]]   # (texts, label strings)
SMOKE = "smoke-sources"
SMOKE_SIZES = {"train": 400, "valid": 100, "test": 100}   # examples per split, half per class
INTEGER = re.compile(r"-?[0-9]+")   # ASCII only: str.isdigit() also accepts '²', which int() refuses


def read_tsv(path: Path, text_column: str = "text", label_column: str = "label") -> Split:
    """(texts, labels) of a `text<TAB>label` file; a line without a tab is a UserError."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()   # -sig: drops a byte-order mark
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text ({exc})") from None
    texts, labels = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip() or (n == 1 and line.strip() == f"{text_column}\t{label_column}"):
            continue
        if "\t" not in line:
            raise UserError(f"{path} line {n} has no tab: each line must be text<TAB>label "
                            f"(got {line[:60]!r})")
        text, label = line.rsplit("\t", 1)
        if not label.strip():
            raise UserError(f"{path} line {n} has an empty label after the tab")
        if not text.strip():
            raise UserError(f"{path} line {n} has an empty text before the tab: each line must be "
                            f"text<TAB>label; remove or fill that line")
        texts.append(text.strip())
        labels.append(label.strip())
    if not texts:
        raise UserError(f"{path} has no text<TAB>label lines")
    return texts, labels


def read_label_first(path: Path) -> Split:
    """(texts, labels) of a `label sentence` file (Kim 2014's stsa.binary.*: "1 a stirring ...")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text ({exc})") from None
    texts, labels = [], []
    for n, line in enumerate(lines, 1):
        label, _, text = line.strip().partition(" ")
        if not line.strip():
            continue
        if not text.strip():
            raise UserError(f"{path} line {n} is not `label sentence` (got {line[:60]!r})")
        texts.append(text.strip())
        labels.append(label)
    if not texts:
        raise UserError(f"{path} has no `label sentence` lines")
    return texts, labels


def _split_file(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.tsv"):
        if candidate.is_file():
            return candidate
    raise UserError(f"{folder} has no {name}.tsv; name the split files with data.train_split / "
                    f"data.val_split / data.test_split (test_split= for none)")


def _from_disk(folder: Path, cfg: DataConfig, names: dict[str, str]) -> dict[str, Split]:
    try:
        import datasets
    except ImportError:
        raise UserError(f"{folder} is a Hugging Face dataset folder, which needs the optional "
                        "`datasets` package: pip install datasets") from None
    try:
        ds = datasets.load_from_disk(str(folder))
    except Exception as exc:   # datasets/pyarrow raise many types for a damaged folder
        raise UserError(f"{folder}: not a readable saved dataset ({type(exc).__name__}: "
                        f"{str(exc)[:120]}); save it again with DatasetDict.save_to_disk") from None
    if not hasattr(ds, "column_names") or not isinstance(ds.column_names, dict):
        raise UserError(f"{folder}: holds one split, not a DatasetDict of train/valid/test; save a "
                        f"DatasetDict (DatasetDict({{'train': ..., 'valid': ...}}).save_to_disk)")
    aliases = {"valid": ("valid", "validation", "dev")}
    out = {}
    for split, name in names.items():
        found = next((n for n in aliases.get(name, (name,)) if n in ds), None)
        if found is None:
            raise UserError(f"{folder} has splits {', '.join(ds)}, not {name!r}; set data.{split}_split")
        part = ds[found]
        for column in (cfg.text_column, cfg.label_column):
            if column not in part.column_names:
                raise UserError(f"{folder} split {found} has columns {', '.join(part.column_names)}, "
                                f"not {column!r}; set data.text_column / data.label_column")
        texts, labels = [str(t) for t in part[cfg.text_column]], [str(v) for v in part[cfg.label_column]]
        empty = next((i for i, t in enumerate(texts) if not t.strip()), None)
        if not texts or empty is not None:
            raise UserError(f"{folder} split {found}: " + (f"row {empty} has an empty {cfg.text_column!r}"
                            if texts else "has no rows") + "; fix the data and save it again")
        out[split] = (texts, labels)
    return out


def smoke_tsvs(ctx: JobContext) -> Path:
    """Write (once) the smoke set under the cache dir: Shakespeare lines vs WikiText-2 sentences."""
    folder = Path(ctx.cache_dir) / SMOKE
    if all((folder / f"{s}.tsv").is_file() for s in SMOKE_SIZES):
        return folder
    shakespeare, wiki = (data.raw_file(rel, ctx.data_root).read_text(encoding="utf-8")   # downloaded if missing
                         for rel in ("tinyshakespeare/input.txt", "wikitext-2/valid.txt"))
    pools = {
        "shakespeare": [line.strip() for line in shakespeare.splitlines()
                        if 30 <= len(line.strip()) <= 60 and not line.strip().endswith(":")],
        "wikipedia": [s.strip() + " ." for line in wiki.splitlines() if not line.startswith(" =")
                      for s in line.split(" . ") if 30 <= len(s.strip()) <= 60],
    }
    rng = np.random.default_rng(2026)   # fixed: the set is the same for every user
    picked = {label: [pool[i] for i in rng.permutation(len(pool))[:sum(SMOKE_SIZES.values()) // 2]]
              for label, pool in pools.items()}
    start = 0
    for split, size in SMOKE_SIZES.items():
        rows = [(t, label) for label in pools for t in picked[label][start:start + size // 2]]
        order = rng.permutation(len(rows))
        write_atomic(folder / f"{split}.tsv",
                          "".join(f"{rows[i][0]}\t{rows[i][1]}\n" for i in order).encode())
        start += size // 2
    return folder


def read_splits(cfg: DataConfig, ctx: JobContext) -> dict[str, Split]:
    """{"train", "val"[, "test"]} -> (texts, labels) for data.dataset; errors say what to do."""
    names = {"train": cfg.train_split, "val": cfg.val_split}
    if cfg.test_split:
        names["test"] = cfg.test_split
    if cfg.dataset == "sst2-sentences":   # files and download from the registry, as sst2's
        return {split: read_label_first(data.dataset_file(cfg.dataset, name, ctx.data_root))
                for split, name in names.items()}
    if cfg.dataset == "sst2":   # its files (and how to download them) come from the dataset registry
        return {split: read_tsv(data.dataset_file("sst2", name, ctx.data_root), cfg.text_column,
                                cfg.label_column) for split, name in names.items()}
    if cfg.dataset == SMOKE:
        folder = smoke_tsvs(ctx)
    else:
        folder = Path(cfg.dataset).expanduser()
        if not folder.is_dir():
            raise UserError(f"data.dataset={cfg.dataset!r} is not sst2-sentences, sst2, {SMOKE}, or a folder of "
                            f"<split>.tsv files / a saved Hugging Face dataset")
        if (folder / "dataset_dict.json").is_file():
            return _from_disk(folder, cfg, names)
    return {split: read_tsv(_split_file(folder, name), cfg.text_column, cfg.label_column)
            for split, name in names.items()}


def label_names(splits: dict[str, Split]) -> list[str]:
    """Class id -> label: the train split's labels, sorted; valid/test labels must be among them."""
    found = set(splits["train"][1])
    if len(found) < 2:
        raise UserError(f"the train split has only one class ({', '.join(found)}): a classifier needs "
                        f"at least two labels")
    numeric = all(INTEGER.fullmatch(v) for v in found)
    names = sorted(found, key=int if numeric else str)
    for split, (_, labels) in splits.items():
        unknown = sorted(set(labels) - found)
        if unknown:
            raise UserError(f"the {split} split has label(s) {', '.join(map(repr, unknown[:5]))} that the "
                            f"train split lacks (train labels: {', '.join(names)}); fix the file or "
                            f"add training examples of that class")
    return names
