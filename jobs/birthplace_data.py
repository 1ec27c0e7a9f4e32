"""Birth-place files -> vocabulary, documents and (question, place) pairs, with one-line errors.

    tok = vocabulary(ctx)                                     # from <data_root>/birth_places/wiki.txt
    questions, places = read_questions(resolve_file(ctx, "birth_dev.tsv"))   # places None: no gold

A file name is one of the splits of the registry's "birth_places" entry (data_registry.py: wiki.txt
and the .tsv files under <data_root>/birth_places/) or a path to a file of your own (absolute, or
relative to the working directory).
"""
from __future__ import annotations

from pathlib import Path

import data
from gpt.birthplace import ascii_only
from gpt.tokenizer import CharTokenizer
from jobs.errors import UserError
from jobs.context import JobContext

DATASET = "birth_places"   # the registry entry: file locations and vocabulary
WIKI = "wiki.txt"
PRETRAIN_DATASET = "birth_places_pretrain"   # data.dataset of pretrain runs (finetune checks it)
FINETUNE_DATASET = "birth_places_finetune"   # of finetune, evaluate and london_baseline runs


def resolve_file(ctx: JobContext, name: str) -> Path:
    """A birth-places file name under the data root, or a path to an existing file."""
    files = data.entry(DATASET).splits
    if name in files:
        return data.dataset_file(DATASET, name, ctx.data_root)
    path = Path(name).expanduser()
    if not path.is_file():
        raise UserError(f"{name!r} is neither one of {', '.join(files)} nor an existing file")
    return path


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text ({exc})") from None


def vocabulary(ctx: JobContext) -> CharTokenizer:
    """CS224n's vocabulary: the characters of wiki.txt after PAD (0) and MASK (1)."""
    return data.vocabulary(DATASET, ctx.data_root)


def read_documents(path: Path, keep_empty: bool = False) -> list[str]:
    """One pretraining document per line; empty lines only with keep_empty (CS224n keeps them)."""
    docs = [line for line in _read_text(path).split("\n") if keep_empty or line.strip()]
    if not any(d.strip() for d in docs):
        raise UserError(f"{path} has no text to pretrain on")
    return docs


def read_questions(path: Path, ascii: bool = False) -> tuple[list[str], list[str] | None]:
    """(questions, gold places or None) of a TSV; blank lines are ignored.

    ascii=True drops non-ASCII characters first, as CS224n's NameDataset reads its file.

    Either every line is `question<TAB>place` or none has a tab (questions only, like
    birth_test_inputs.tsv); a mix, an extra tab or an empty field is an error naming the line.
    """
    text = ascii_only(_read_text(path)) if ascii else _read_text(path)
    rows = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1)
            if line.strip()]
    if not rows:
        raise UserError(f"{path} is empty: expected lines `Where was <name> born?<TAB><place>`")
    with_tab = [n for n, line in rows if "\t" in line]
    if not with_tab:
        return [line for _, line in rows], None
    without = [n for n, line in rows if "\t" not in line]
    if without:
        raise UserError(f"{path} line {without[0]} has no tab but line {with_tab[0]} has one: every "
                        f"line must be `question<TAB>place` ({len(without)} line(s) without a tab)")
    questions, places = [], []
    for n, line in rows:
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise UserError(f"{path} line {n}: expected `question<TAB>place` with both fields "
                            f"non-empty, got {line[:80]!r}")
        questions.append(fields[0])
        places.append(fields[1].strip())
    return questions, places


def read_pairs(path: Path, ascii: bool = False) -> list[tuple[str, str]]:
    """(question, place) pairs of a TSV that must have gold places (training, finetune val)."""
    questions, places = read_questions(path, ascii)
    if places is None:
        raise UserError(f"{path} has no tab-separated places: it cannot be trained or scored on")
    return list(zip(questions, places))
