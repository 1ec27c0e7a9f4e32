"""Downloading raw files from their public sources, each checked before it is kept.

    source = Source("tinyshakespeare/input.txt", github(repo, commit, "data/.../input.txt"), sha256)
    written = download_files([source], data_root)   # skips files already there and intact

The files and checksums of each corpus are part of its entry in data_registry.py (`sources=`);
`python data.py download NAME` fetches them into the data root, and a job fetches a missing file
itself (data_roots.py). A file is streamed into a temporary file beside its final place (with a
progress bar on a terminal), checked against its sha256 (or, for files whose sha256 is unknown,
its git blob id) and only then renamed into place; a failed or wrong download leaves nothing,
not even the folders it would have created.

Environment: TOOLKIT_OFFLINE=1 never tries the network (the error says what to run instead);
TOOLKIT_DATA_MIRROR=URL fetches `URL/<path under the data root>` instead of each file's own URL
(an http(s):// or file:// copy of a data root, e.g. a site mirror; checksums still apply).
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from gpt.rundir import atomic_file

TIMEOUT_S = 30     # per socket operation: an unreachable host fails in seconds, not minutes
CHUNK_BYTES = 1 << 20


class DataError(Exception):
    """Data is missing or unusable; the one-line message says what, where it looked, how to fix."""


class OfflineError(DataError):
    """The network cannot be reached (or TOOLKIT_OFFLINE=1): nothing was fetched, nothing written."""


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


def offline() -> bool:
    """True when TOOLKIT_OFFLINE is set to anything but "", "0" or "false": never use the network."""
    return os.environ.get("TOOLKIT_OFFLINE", "").strip().lower() not in ("", "0", "false")


def url_of(source: Source) -> str:
    """Where `source` is fetched from: TOOLKIT_DATA_MIRROR/<path> if that is set, else its own URL."""
    mirror = os.environ.get("TOOLKIT_DATA_MIRROR", "").strip()
    return f"{mirror.rstrip('/')}/{source.path}" if mirror else source.url


def _open(url: str):
    """The open response for `url`; OfflineError when it cannot be reached (no internet, refused)."""
    if offline():
        raise OfflineError(f"TOOLKIT_OFFLINE is set, so {url} was not fetched")
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except ValueError as exc:   # e.g. TOOLKIT_DATA_MIRROR=somewhere: no scheme
        raise DataError(f"cannot fetch {url!r}: {exc}; TOOLKIT_DATA_MIRROR must be an http://, https:// "
                        f"or file:// URL") from None
    except OSError as exc:   # URLError, HTTPError, timeouts: usually no internet on compute nodes
        raise OfflineError(f"cannot fetch {url} ({getattr(exc, 'reason', None) or exc})") from None


def check_file(source: Source, path: Path, url: str) -> None:
    """DataError unless the file has the source's sha256 (or, lacking one, its git blob id)."""
    if source.sha256:
        kind, want, digest = "sha256", source.sha256, hashlib.sha256()
    else:   # git's blob id: sha1 of "blob <size>\0" + content
        kind, want, digest = "git blob id", source.git_blob, hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    if digest.hexdigest() != want:
        raise DataError(f"{url} has {kind} {digest.hexdigest()}, expected {want}; the file changed "
                        f"upstream or the download was damaged: nothing was written")


def _missing_parents(path: Path, root: Path) -> list[Path]:
    """The folders between root (included) and path that do not exist yet, outermost first."""
    return [p for p in reversed(path.parents) if not p.exists() and (p == root or root in p.parents)]


def _fetch_into(source: Source, path: Path, root: Path) -> None:
    """Stream the source into a temp file beside `path`, check it, rename it into place. On any
    failure the temp file and every folder this call created are removed again."""
    url = url_of(source)
    response = _open(url)     # first: an unreachable source creates nothing
    created = _missing_parents(path, root)
    print(f"[data] downloading {source.path} from {url}", file=sys.stderr, flush=True)
    try:
        with response:
            size = int(response.headers.get("Content-Length") or 0) or None
            # a failed download or check leaves no file: atomic_file removes its temp file
            with atomic_file(path) as f, tqdm(total=size, unit="B", unit_scale=True, desc=source.path,
                                              disable=not sys.stderr.isatty(), leave=False) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    f.write(chunk)
                    bar.update(len(chunk))
                f.flush()
                check_file(source, Path(f.name), url)   # before the rename: a damaged download never lands
    except OSError as exc:
        raise DataError(f"cannot download {url} into {path} ({exc}); pass a writable --data-root") from None
    finally:
        if not path.exists():
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:   # something else was put there meanwhile: keep it
                    break


def download_files(sources: list[Source], data_root: Path | str) -> list[Path]:
    """Fetch each source into data_root unless an intact copy is there; returns the files written."""
    root, written = Path(data_root).expanduser(), []
    for source in sources:
        path = root / source.path
        if path.is_file():
            try:
                check_file(source, path, str(path))
                continue
            except DataError:
                pass   # a damaged copy: fetch it again
        _fetch_into(source, path, root)
        written.append(path)
    return written
