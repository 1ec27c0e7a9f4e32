"""Where the raw corpora are: the data root given, the download root, the corpora in the repository.

    path = find("tinyshakespeare/input.txt", data_root=None)   # found, downloaded, or a DataError

A file (a path under a data root, e.g. wikitext-2/valid.txt) is looked for in, in order:
1. the data root given: `--data-root DIR`, else $DATA_ROOT, if either is set (it may be read-only);
2. the download root, $XDG_CACHE_HOME/slm-toolkit/data (default ~/.cache/slm-toolkit/data);
3. `corpora/` in the repository: tiny shakespeare ships with it, so the default job needs neither
   a data root nor the network.
A file found in none of them that the registry can download (data_registry.py `sources=`) is
downloaded, sha256-checked, into the given data root if it is writable, else into the download
root: a read-only data root is never written. Without network (or with TOOLKIT_OFFLINE=1) the
DataError is one line naming what to run where there is internet: `python data.py download NAME`
(on a cluster: on the login node; the compute nodes then find the files in the same place).
"""
from __future__ import annotations

import os
from pathlib import Path

from data_registry import sources
from data_sources import DataError, OfflineError, download_files

EMBEDDED = Path(__file__).resolve().parent / "corpora"   # the corpora that ship with the repository


def given_root(data_root: Path | str | None) -> Path | None:
    """The data root given (the argument, else $DATA_ROOT; `~` expanded), None when neither is set;
    a DataError when it is not a folder (a typo should not silently read or fill another one)."""
    if data_root in (None, ""):
        data_root = os.environ.get("DATA_ROOT", "")
    if not data_root:
        return None
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"data root {root} is not a folder (from --data-root / DATA_ROOT); point it at "
                        f"the folder with tinyshakespeare/, wikitext-2/, ..., or leave both unset to use "
                        f"{download_root()} (filled on demand)")
    return root


def download_root() -> Path:
    """$XDG_CACHE_HOME/slm-toolkit/data, else ~/.cache/slm-toolkit/data: where files are downloaded
    when no writable data root is given."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "slm-toolkit" / "data"


def search_roots(data_root: Path | str | None) -> list[Path]:
    """The folders a raw file is looked for in, in order (see the module docstring)."""
    found: list[Path] = []
    for root in (given_root(data_root), download_root(), EMBEDDED):
        if root is not None and root not in found:
            found.append(root)
    return found


def writable(folder: Path) -> bool:
    """True if we may write into `folder`: allowed (os.access) and not marked read-only (no write
    bit at all, e.g. dr-xr-xr-x: read-only even for root, whom os.access never refuses)."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def target_root(data_root: Path | str | None) -> Path:
    """Where a missing file is downloaded: the given data root if writable, else the download root."""
    given = given_root(data_root)
    return given if given is not None and writable(given) else download_root()


def group_of(rel: str) -> str:
    """The `python data.py download NAME` that fetches file `rel`, or "" if none does."""
    return next((name for name, srcs in sources().items() if any(s.path == rel for s in srcs)), "")


def download_command(group: str, data_root: Path | str | None) -> str:
    """The command that downloads `group` where a job with this data root looks for it."""
    given = given_root(data_root)
    flag = f" --data-root {given}" if given is not None and target_root(data_root) == given else ""
    return f"python data.py download {group}{flag}"


def find(rel: str, data_root: Path | str | None, hint: str = "") -> Path:
    """The readable file `rel` from the first search root that has it, downloaded if none has it
    and the registry knows its source; else a one-line DataError (what, where, what to run; `hint`:
    what else would do)."""
    roots = search_roots(data_root)
    for root in roots:
        path = root / rel
        if path.is_file() and os.access(path, os.R_OK):
            return path
    where = ", ".join(str(r) for r in roots)
    group = group_of(rel)
    alternative = f"; or {hint}" if hint else ""
    if not group:
        raise DataError(f"{rel} not found in the data roots ({where}) and no source is known for it; "
                        f"put it under one of them{alternative}")
    target = target_root(data_root)
    source = next(s for s in sources()[group] if s.path == rel)
    try:
        download_files([source], target)
    except OfflineError as exc:
        raise DataError(f"{rel} not found in the data roots ({where}) and not downloaded: {exc}; run "
                        f"`{download_command(group, data_root)}` on a machine with internet (e.g. the "
                        f"login node){alternative}") from None
    return target / rel
