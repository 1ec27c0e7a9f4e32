"""One trainer per run dir: an exclusive lock file, and clean-up of temp files killed writes left.

    with RunLock(run_dir):          # RunLockError (one line, naming host/pid/job) if held
        remove_stale_tmp(run_dir)   # safe only while holding the lock
        ...train...

Why an O_EXCL lock file and not fcntl/flock: `open(O_CREAT | O_EXCL)` is atomic on local disks and
on the shared filesystems clusters mount (NFSv3+ , NFSv4, Lustre, GPFS/Spectrum Scale, BeeGFS),
while flock is node-local on Lustre without the `flock` mount option and on NFS before Linux 2.6.12,
and fcntl locks vanish or hang when an NFS client loses its lease. The file holds the holder's host,
pid, the pid's start time and the boot it ran in, and its Slurm job id, so a refusal names it and
a lock is taken over only when its holder is provably gone:
- same host and boot, and that pid no longer runs (a `kill -9`, an OOM kill), or it runs but
  started at another time than the holder did (the pid was reused by an unrelated process): stale;
- same host, another boot id (the machine rebooted since): stale;
- same Slurm job id, earlier SLURM_RESTART_COUNT (a requeue: attempts never overlap): stale;
- otherwise held: another host cannot be checked from here, and a lock whose content is not one
  this toolkit writes (hand-edited, garbage) proves nothing; the one-line error says who holds it
  (or what is wrong with the file) and that deleting the file is safe once that trainer is gone.
The holder is written to a temp file and hard-linked into place (atomic, fails if the lock exists,
also on NFS), so a kill never leaves an empty or half-written lock.
"""
from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

from gpt import rundir
from gpt.checkpoint import CheckpointError

LOCK = ".lock"
PID_MAX = 2**22      # Linux's largest pid_max (/proc/sys/kernel/pid_max)


class RunLockError(CheckpointError):
    """The run dir is in use by another live trainer (or its lock cannot be created)."""


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def boot_id() -> str:
    """This boot of this machine ("" where /proc does not say): pids restart at each boot."""
    return _read("/proc/sys/kernel/random/boot_id").strip()


def started(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or None."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat[stat.rfind(")") + 2:].split()   # after "(comm)", which may hold spaces
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def _restart_count() -> int:
    value = os.environ.get("SLURM_RESTART_COUNT", "0").strip()
    return int(value) if value.isdigit() else 0


def _me() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": started(os.getpid()),
            "boot_id": boot_id(), "job_id": os.environ.get("SLURM_JOB_ID", ""),
            "restart": _restart_count()}


def holder_problem(holder) -> str | None:
    """Why `holder` (the parsed lock file) is not a lock this toolkit writes, or None."""
    if not isinstance(holder, dict):
        return f"it holds {json.dumps(holder)[:40]}, not an object"
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid <= PID_MAX:
        return f"pid={pid!r:.40} is not a process id (1..{PID_MAX})"
    if not isinstance(host, str) or not host:
        return f"host={host!r:.40} is not a host name"
    if not isinstance(holder.get("job_id", ""), str):
        return f"job_id={holder['job_id']!r:.40} is not a string"
    restart = holder.get("restart", 0)
    if not isinstance(restart, int) or isinstance(restart, bool) or restart < 0:
        return f"restart={restart!r:.40} is not a count >= 0"
    if holder.get("started") is not None and (not isinstance(holder["started"], int)
                                              or isinstance(holder["started"], bool)):
        return f"started={holder['started']!r:.40} is not a start time"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # exists, owned by someone else
        return True
    return True


def stale_reason(holder: dict, me: dict) -> str | None:
    """Why the (valid) holder is provably gone, or None when it may still run."""
    if me["job_id"] and holder.get("job_id") == me["job_id"] and holder.get("restart", 0) < me["restart"]:
        return "an earlier attempt of this requeued Slurm job"
    if holder["host"] != me["host"]:
        return None
    if holder.get("boot_id") and me["boot_id"] and holder["boot_id"] != me["boot_id"]:
        return "written before this machine rebooted"
    if not _alive(holder["pid"]):
        return "its process is gone"
    now = started(holder["pid"])
    if holder.get("started") is not None and now is not None and now != holder["started"]:
        return "its pid now belongs to another process"
    return None


class RunLock:
    """Exclusive hold of `run_dir` for one trainer process; released on exit (also on errors)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.me = _me()
        self.held = False

    def _create(self) -> bool:
        tmp = self.path.with_name(f"{LOCK}.{self.me['pid']}.tmp")   # remove_stale_tmp's pattern
        try:
            tmp.write_text(json.dumps(self.me))
            try:
                os.link(tmp, self.path)        # atomic; FileExistsError when the lock exists
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
                    raise
                self._create_exclusive()       # a filesystem without hard links
        except FileExistsError:
            return False
        except FileNotFoundError:              # our temp file was swept by the lock's holder
            return False
        except OSError as exc:
            raise RunLockError(f"cannot create the run lock {self.path} ({os.strerror(exc.errno)}); "
                               "the runs root must be a writable folder") from None
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _create_exclusive(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w") as f:
            json.dump(self.me, f)

    def _holder(self):
        """The parsed lock file: None when there is none, a string saying what is wrong with it
        when it is not a lock this toolkit writes, else the holder dict."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return f"it cannot be read ({exc.__class__.__name__})"
        try:
            holder = json.loads(text)
        except ValueError:
            return f"it is not JSON (starts {text[:30]!r})"
        return holder_problem(holder) or holder

    def acquire(self) -> "RunLock":
        """Take the lock, taking over a provably stale one; RunLockError naming the holder if held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            if self._create():
                self.held = True
                return self
            holder = self._holder()
            if holder is None:
                continue                     # released between our two calls: try again
            if isinstance(holder, str) or not stale_reason(holder, self.me):
                break
            self.path.unlink(missing_ok=True)
        holder = self._holder() or {}
        if isinstance(holder, str):
            raise RunLockError(f"{self.path}: not a lock this toolkit writes ({holder}), so whether a "
                               f"trainer holds the run dir is unknown; if no trainer runs on it, "
                               f"delete {self.path} and rerun")
        job = f", Slurm job {holder['job_id']}" if holder.get("job_id") else ""
        if holder.get("host") in (None, self.me["host"]):
            command = " ".join(_read(f"/proc/{holder.get('pid')}/cmdline").replace("\0", " ").split())
            where = f" (running: {command[:80]})" if command else ""
        else:
            where = " (another machine: its process cannot be checked from here)"
        raise RunLockError(f"run dir {self.path.parent} is in use by pid {holder.get('pid', '?')} on "
                           f"host {holder.get('host', '?')}{job}{where}; wait for it or cancel it (if "
                           f"that process is gone, delete {self.path})")

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
    stale = [p for folder in (run_dir, run_dir / rundir.CHECKPOINTS) if folder.is_dir()
             for p in folder.glob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
