"""Idempotent outputs: a file is rewritten only when what it is made from changed.

Each output's fingerprint (a hash of the data drawn into it, or of its input files' path, size
and mtime) is kept in `<out>/.report-state.json`. A figure whose fingerprint and file are
unchanged is reused without drawing; a text output is rewritten only if its bytes differ.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gpt import rundir

STATE_FILE = ".report-state.json"
STATE_VERSION = 1   # bump when figures change style, so old ones are redrawn


def fingerprint(*parts) -> str:
    """A stable hash of JSON-able parts (numbers, strings, lists, dicts)."""
    blob = json.dumps([STATE_VERSION, *parts], sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha1(blob.encode()).hexdigest()


class OutDirError(ValueError):
    """--out would overwrite files the report did not write; the message says what to do."""


def check_out_dir(out_dir: Path, inputs: list[Path]) -> None:
    """Refuse an out dir that is an input or inside one (the report would write into the runs and
    then read its own files), or one that holds files no report wrote (no state file there)."""
    out = Path(out_dir).expanduser().resolve()
    for given in inputs:
        inp = Path(given).expanduser().resolve()
        inp = inp.parent if inp.is_file() else inp   # a sweep index.json: its folder
        if out == inp or inp in out.parents:
            raise OutDirError(f"--out {out_dir} is inside the input {given}: the report would write "
                              f"among the runs; pass a folder outside it, e.g. --out report")
    if out.exists() and not out.is_dir():
        raise OutDirError(f"--out {out_dir} is a file; pass a folder")
    if out.is_dir() and not (out / STATE_FILE).is_file():
        others = sorted(p.name for p in out.iterdir())
        if others:
            raise OutDirError(f"--out {out_dir} already holds files no report wrote ({', '.join(others[:3])}"
                              f"{' ...' if len(others) > 3 else ''}); pass an empty or new folder")


class ReportState:
    """Fingerprints of the outputs under `out_dir`, and counts of files written and reused."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / STATE_FILE
        try:
            self._old = rundir.read_json(self.path).get("outputs", {})
        except ValueError:  # first run, or a damaged state file: everything is redrawn
            self._old = {}
        self._new: dict[str, str] = {}
        self.written: list[Path] = []
        self.reused: list[Path] = []

    def _key(self, path: Path) -> str:
        return Path(path).relative_to(self.out_dir).as_posix()

    def _claim(self, path: Path) -> str:
        """The state key of `path`; OutDirError if a file is there that no report wrote."""
        key = self._key(path)
        if key not in self._old and Path(path).exists():
            raise OutDirError(f"{path} exists but was not written by a report (it is not in "
                              f"{self.path.name}); move it away or pass another --out")
        return key

    def is_fresh(self, paths: list[Path], digest: str) -> bool:
        """True if all `paths` exist and were made from inputs with this `digest`; records it.

        Fresh paths count as reused; otherwise the caller makes them and calls `wrote`.
        """
        paths = [Path(p) for p in paths]
        fresh = True
        for path in paths:
            key = self._claim(path)
            self._new[key] = digest
            fresh = fresh and self._old.get(key) == digest and path.is_file()
        if fresh:
            self.reused.extend(paths)
        return fresh

    def wrote(self, *paths: Path) -> None:
        """Count `paths` as written by this build."""
        self.written.extend(map(Path, paths))

    def write_text(self, path: Path, text: str) -> Path:
        """Write `text` to `path` unless the file already holds exactly that."""
        path = Path(path)
        key = self._claim(path)
        self._new.setdefault(key, "text")   # the manifest: every file this report wrote
        if path.is_file() and path.read_bytes() == text.encode():
            self.reused.append(path)
        else:
            rundir.write_atomic(path, text.encode())
            self.written.append(path)
        return path

    def save(self) -> None:
        """Keep the fingerprints of this build's outputs for the next one (if they changed)."""
        if self._new != self._old or not self.path.is_file():
            rundir.write_json(self.path, {"version": STATE_VERSION, "outputs": self._new})
