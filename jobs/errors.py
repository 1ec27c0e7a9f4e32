"""Which exceptions are the user's to fix (one line, exit 2) and which are bugs (traceback).

    code = report_error(exc)        # None: not an expected error (or --debug): re-raise it

Expected: the toolkit's own errors (ConfigError, DataError, CheckpointError, RunFileError,
UserError, LaunchError) and OSError from the filesystem (read-only or full disk, a file where a
folder should be, a name too long), which gets a hint by errno. Anything else is a bug and keeps
its traceback. `--debug` or TOOLKIT_DEBUG=1 shows the traceback of expected errors too.
"""
from __future__ import annotations

import errno
import os
import sys

EXIT_USER_ERROR = 2
_OS_HINTS = {
    errno.EACCES: "check the folder's permissions, or pass a writable --runs-root / --cache-dir",
    errno.EPERM: "check the folder's permissions, or pass a writable --runs-root / --cache-dir",
    errno.EROFS: "that filesystem is read-only: pass --runs-root / --cache-dir on a writable one",
    errno.ENOTDIR: "a file is where a folder should be: move it, or choose another --runs-root / --cache-dir",
    errno.EEXIST: "a file is where a folder should be: move it, or choose another --runs-root / --cache-dir",
    errno.EISDIR: "a folder is where a file should be: move it away and rerun",
    errno.ENAMETOOLONG: "a file name is too long (at most 255 bytes): shorten name=... or the path",
    errno.ENOSPC: "the disk is full: free space or use another filesystem",
    errno.EFBIG: "the file size limit was hit (`ulimit -f`, or the filesystem's largest file): raise "
                 "it, free space or use another filesystem",
    errno.EDQUOT: "your disk quota is used up: free space or use another filesystem",
}


class UserError(Exception):
    """Bad input from the user (a prompt, a run dir, a file); main.py prints it on one line."""


class LaunchError(RuntimeError):
    """Submission refused before anything reached the scheduler; the message says how to fix it."""


def expected_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user."""
    from data import DataError
    from gpt.checkpoint import CheckpointError
    from gpt.config import ConfigError
    from gpt.rundir import RunFileError
    return ConfigError, DataError, CheckpointError, RunFileError, UserError, LaunchError, OSError


def debug_requested() -> bool:
    """True when TOOLKIT_DEBUG is set (to anything but 0): show tracebacks."""
    return os.environ.get("TOOLKIT_DEBUG", "") not in ("", "0")


def message(exc: BaseException) -> str:
    """One line: what went wrong, and for OS errors what to do."""
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" {exc.filename}" if exc.filename else ""
        hint = _OS_HINTS.get(exc.errno, "check the path and rerun")
        text = f"{exc.strerror or os.strerror(exc.errno)}:{where}; {hint}"
    else:
        text = str(exc)
    return " ".join(text.split())    # one line, whatever the message held


def report_error(exc: BaseException) -> int | None:
    """Print `error: ...` for an expected error and return the exit code; None = re-raise."""
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    if debug_requested() or not isinstance(exc, expected_errors()):
        return None
    print(f"error: {message(exc)}", file=sys.stderr)
    return EXIT_USER_ERROR


def exit_code(call) -> int:
    """`call()`'s exit code, or an expected error's one line and its code (what a Slurm job step
    prints before it FAILS); anything else is a bug and raises with its traceback."""
    try:
        return call()
    except BaseException as exc:
        code = report_error(exc)
        if code is None:
            raise
        return code
