"""Integrity of prepared cache folders: sizes and sha256 recorded at prepare time, checked on load.

    meta["checksums"] = checksums(folder, ("train.npy", "val.npy", "tokenizer.json"))
    problem = cache_problem(folder, names)     # None, or why the folder cannot be trusted
    if (folder / "meta.json").is_file() and not discard_if_damaged(folder): ...   # trusted

A zeroed block keeps a file's size but not its hash; a truncated or missing file fails the size
check at once. data.py rebuilds a folder that fails (`discard_if_damaged` moves it aside first).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from gpt.rundir import RunFileError, read_json

CACHED_FILES = ("train.npy", "val.npy", "tokenizer.json")   # checksummed in meta.json


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(folder: Path, names: tuple[str, ...]) -> dict[str, dict]:
    """{file: {"bytes", "sha256"}} of the prepared files, recorded in meta.json."""
    return {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
            for name in names}


def cache_problem(folder: Path, names: tuple[str, ...]) -> str | None:
    """Why a prepared folder cannot be trusted (a file missing, resized or changed), or None.
    Sizes first (cheap), then sha256."""
    try:
        recorded = read_json(folder / "meta.json").get("checksums")
    except RunFileError as exc:
        return str(exc)
    if not isinstance(recorded, dict) or set(recorded) != set(names):
        return "meta.json has no checksums"
    for name, want in recorded.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != want.get("bytes"):
            return f"{name} has {path.stat().st_size} bytes, {want.get('bytes')} were written"
    for name, want in recorded.items():
        if sha256_of(folder / name) != want.get("sha256"):
            return f"{name} does not match its sha256 (damaged or edited)"
    return None


def discard_if_damaged(folder: Path, names: tuple[str, ...] = CACHED_FILES) -> bool:
    """False if the prepared folder checks out; else say why, rename it aside (atomic: no reader
    sees it half deleted), delete it and return True. OSError (one line from main.py) if it cannot
    be moved; a folder another task moved first is fine."""
    problem = cache_problem(folder, names)
    if problem is None:
        return False
    print(f"[data] cached {folder.name} is damaged ({problem}); rebuilding it", file=sys.stderr, flush=True)
    aside = folder.with_name(f".damaged-{folder.name}-{os.getpid()}")
    try:
        os.rename(folder, aside)
    except FileNotFoundError:
        return True
    shutil.rmtree(aside, ignore_errors=True)
    return True
