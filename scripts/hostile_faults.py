"""Hostile inputs of `classify` and a full disk (issue 23), for scripts/hostile_inputs.py.

- classify: `text<TAB>label` files with a UTF-8 byte-order mark (its header must not become an
  example), labels `²` and `--1` (text, not integers), empty texts, damaged `load_from_disk` folders;
- a full disk: main.py in a subprocess under a file-size limit (`ulimit -f`, RLIMIT_FSIZE) while it
  writes a checkpoint, an eval result or a report: one line, the old files intact, no temp file left.
"""
from __future__ import annotations

import json
from pathlib import Path

from hostile_base import RUN, Case, job, resume, write

GOOD = [("a fine and moving film", "1"), ("dull and far too long", "0")] * 10


def _tsvs(rows, bom: bool = False):
    """A preparer: train/valid/test.tsv of `rows` under work/cls, then a 1-epoch smoke classify."""
    def prepare(work: Path, _run: Path) -> list[str]:
        for split in ("train", "valid", "test"):
            text = "".join(f"{t}\t{label}\n" for t, label in rows)
            write(work / "cls" / f"{split}.tsv", (b"\xef\xbb\xbf" if bom else b"") + text.encode())
        return ["classify", "--preset", "smoke", f"data.dataset={work / 'cls'}", "train.epochs=1",
                "--runs-root", str(work / "runs")]
    return prepare


def _labels(expected: list[str], examples: int):
    """Check of a correct classify run: labels.json lists `expected`, train had `examples` rows."""
    def check(work: Path, _run: Path) -> str | None:
        found = list((work / "runs" / "classify").glob("*/labels.json"))
        if len(found) != 1:
            return f"{len(found)} labels.json files"
        labels = json.loads(found[0].read_text())
        if labels["labels"] != expected or labels["train_examples"] != examples:
            return f"labels.json is {labels}"
        return None
    return check


def _saved_dataset(files: dict[str, str]):
    def prepare(work: Path, _run: Path) -> list[str]:
        for rel, text in files.items():
            write(work / "hf" / rel, text)
        return ["classify", "--preset", "smoke", f"data.dataset={work / 'hf'}", "--runs-root", str(work / "runs")]
    return prepare


def _resume_full_disk(work: Path, run: Path) -> list[str]:
    (run / "summary.json").unlink()      # resume at step 3: evaluate, then rewrite last.pt (1.1 MB)
    return resume(work)


def _report(work: Path, _run: Path) -> list[str]:
    return ["report", str(work / "runs"), "--out", str(work / "rep")]


def _eval_lengths(_work: Path, run: Path) -> list[str]:
    return ["eval_lengths", "--run-dir", str(run), "--lengths", "16,32", "--max-tokens", "256"]


CLS = ("runs/classify", "runs/classify/*")
NO_TEMP = "File too large"
CASES: list[Case] = [
    Case("classify: UTF-8 BOM before the header", _tsvs([("text", "label"), *GOOD], bom=True), "completed",
         code=0, changes=("cls/*", *CLS), check=_labels(["0", "1"], 20)),
    Case("classify: label '²'", _tsvs([("good", "²"), ("bad", "1")] * 10), "completed", code=0,
         changes=("cls/*", *CLS), check=_labels(["1", "²"], 20)),
    Case("classify: label '--1'", _tsvs([("good", "--1"), ("bad", "1")] * 10), "completed", code=0,
         changes=("cls/*", *CLS), check=_labels(["--1", "1"], 20)),
    Case("classify: all texts empty", _tsvs([("", "1"), (" ", "0")] * 10), "line 1 has an empty text"),
    Case("classify: load_from_disk folder damaged", _saved_dataset({"dataset_dict.json": "garbage"}),
         "not a readable saved dataset"),
    Case("classify: load_from_disk split missing", _saved_dataset({"dataset_dict.json": '{"splits": ["train"]}'}),
         "not a readable saved dataset"),
    # a full disk (file-size limit in a subprocess): old last.pt intact, metrics rows whole, no temp file
    Case("full disk: last.pt write on resume", _resume_full_disk, "last.pt; the file size limit was hit", fsize=200_000,
         changes=(f"{RUN[:-1]}*/metrics.jsonl",)),
    Case("full disk: first checkpoint of a new run", lambda w, r: job("name=fresh", "--runs-root", str(w / "runs")),
         NO_TEMP, fsize=200_000, changes=("runs/full_run/fresh-*",)),
    Case("full disk: report figure", _report, NO_TEMP, fsize=4_000, changes=("rep", "rep/*")),
    Case("full disk: eval/ result", _eval_lengths, NO_TEMP, fsize=64, changes=(f"{RUN}/eval",)),
]
