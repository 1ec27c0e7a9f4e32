"""Downloading raw files from their public sources, each checked before it is written.

    source = Source("tinyshakespeare/input.txt", github(repo, commit, "data/.../input.txt"), sha256)
    written = download_files([source], data_root)   # skips files already there and intact

The files and checksums of each corpus are part of its entry in data_registry.py (`sources=`);
`python data.py download NAME` fetches them into the data root. Nothing is written unless the
bytes match the sha256 (or, for files whose sha256 is unknown, the git blob id).
"""
from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gpt.rundir import write_atomic


class DataError(Exception):
    """Data is missing or unusable; the one-line message says what, where it looked, how to fix."""


@dataclass(frozen=True)
class Source:
    """A raw file: where it goes under the data root, where it comes from, how to check it."""
    path: str
    url: str
    sha256: str = ""
    git_blob: str = ""   # for files whose sha256 is unknown: `git hash-object` id


def github(repo: str, commit: str, path: str) -> str:
    """The raw URL of `path` in GitHub repository `repo` at `commit` (pinned: the bytes never move)."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except OSError as exc:   # URLError, timeouts: usually no internet on compute nodes
        raise DataError(f"cannot fetch {url} ({exc}); download on a machine with internet "
                        f"(e.g. the login node) or copy the file by hand") from None


def _verify(source: Source, data: bytes) -> None:
    """DataError unless `data` has the source's sha256 (or, lacking one, its git blob id)."""
    if source.sha256:
        kind, want, got = "sha256", source.sha256, hashlib.sha256(data).hexdigest()
    else:   # git's blob id: sha1 of "blob <size>\0" + content
        kind, want = "git blob id", source.git_blob
        got = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    if got != want:
        raise DataError(f"{source.url} has {kind} {got}, expected {want}; the file changed upstream "
                        f"or the download was damaged: nothing was written")


def download_files(sources: list[Source], data_root: Path | str) -> list[Path]:
    """Fetch each source into data_root unless an intact copy is there; returns the files written."""
    root, written = Path(data_root).expanduser(), []
    for source in sources:
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
