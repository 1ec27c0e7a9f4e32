"""One trainer per run dir: an exclusive lock file, and clean-up of temp files killed writes left.

    with RunLock(run_dir):          # RunLockError (one line, naming host/pid/job) if held
        remove_stale_tmp(run_dir)   # safe only while holding the lock
        ...train...

Why an O_EXCL lock file and not fcntl/flock: `open(O_CREAT | O_EXCL)` is atomic on local disks and
on the shared filesystems clusters mount (NFSv3+ , NFSv4, Lustre, GPFS/Spectrum Scale, BeeGFS),
while flock is node-local on Lustre without the `flock` mount option and on NFS before Linux 2.6.12,
and fcntl locks vanish or hang when an NFS client loses its lease. The file holds the holder's
host, pid and Slurm job id, so the refusal can name it and a dead holder can be recognised:
- same host and that pid no longer runs (a `kill -9`, an OOM kill): stale, taken over;
- same Slurm job id, earlier SLURM_RESTART_COUNT (a requeue: attempts never overlap): stale;
- otherwise held: the error says who holds it and that deleting the file is safe once it is gone.
"""
from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

from gpt.checkpoint import CheckpointError

LOCK = ".lock"


class RunLockError(CheckpointError):
    """The run dir is in use by another live trainer (or its lock cannot be created)."""


def _me() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "job_id": os.environ.get("SLURM_JOB_ID", ""),
            "restart": int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # exists, owned by someone else
        return True
    return True


def _is_stale(holder: dict, me: dict) -> bool:
    same_job = bool(me["job_id"]) and holder.get("job_id") == me["job_id"]
    if same_job and int(holder.get("restart", 0)) < me["restart"]:
        return True                          # an earlier attempt of this (requeued) job
    return holder.get("host") == me["host"] and not _alive(int(holder.get("pid", -1)))


class RunLock:
    """Exclusive hold of `run_dir` for one trainer process; released on exit (also on errors)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.me = _me()
        self.held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except OSError as exc:
            raise RunLockError(f"cannot create the run lock {self.path} ({os.strerror(exc.errno)}); "
                               "the runs root must be a writable folder") from None
        with os.fdopen(fd, "w") as f:
            json.dump(self.me, f)
        return True

    def _holder(self) -> dict | None:
        try:
            holder = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}                        # being written right now, or garbled: treat as held
        return holder if isinstance(holder, dict) else {}

    def acquire(self) -> "RunLock":
        """Take the lock, taking over a stale one once; RunLockError naming the holder if held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            if self._create():
                self.held = True
                return self
            holder = self._holder()
            if holder is None:
                continue                     # released between our two calls: try again
            if not _is_stale(holder, self.me):
                break
            try:
                self.path.unlink()
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        holder = self._holder() or {}
        job = f", Slurm job {holder['job_id']}" if holder.get("job_id") else ""
        raise RunLockError(f"run dir {self.path.parent} is in use by pid {holder.get('pid', '?')} on "
                           f"host {holder.get('host', '?')}{job}; wait for it or cancel it (if that "
                           f"process is gone, delete {self.path})")

    def release(self) -> None:
        """Remove the lock if it is still ours (a takeover by a requeue may have replaced it)."""
        if self.held and self._holder() == self.me:
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def remove_stale_tmp(run_dir: Path) -> list[Path]:
    """Delete `.<name>.*.tmp` files that interrupted atomic writes left (call with the lock held)."""
    run_dir = Path(run_dir)
    stale = [p for folder in (run_dir, run_dir / "checkpoints") if folder.is_dir()
             for p in folder.glob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
