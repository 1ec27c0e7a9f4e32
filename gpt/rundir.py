"""Run-directory layout and plain-file I/O. Standard library only: `reports/` imports this.

    runs/<job>/<name>-<hash8>/
        config.json  env.json  metrics.jsonl  summary.json (written last = completed)
        checkpoints/last.pt best.pt   samples/   eval/   slurm/   loss.png ppl.png
        .lock (while a trainer runs: gpt.runlock)

metrics.jsonl holds one JSON object per line, each with "kind" and "step":
    start  {attempt, resumed, n_params, n_trainable, n_frozen, max_iters, iters_per_epoch, device, [mfu_omitted: why]}
    train  {epoch, loss, ppl, lr, ms_per_step, tokens_per_s, elapsed_s,
            [gpu_mem_allocated_mb, gpu_mem_reserved_mb, gpu_mem_peak_allocated_mb, mfu_pct]}
    val    {epoch, loss, ppl, train_loss, train_ppl, elapsed_s}
    stop   {attempt, reason}   (interrupted at a step boundary; a later attempt resumes)
    end    {attempt}
Every row also has "time" (unix seconds). Rows may repeat after a resume: keep the last per
(kind, step). A crash can leave a truncated last line: readers skip it.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from gpt.rundir_checks import RunFileError, check_summary, valid_metrics_row

CONFIG = "config.json"
ENV = "env.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
TOKENIZER = "tokenizer.json"
DATA_REPORT = "data.json"     # finetune: the pairs used and skipped
CHECKPOINTS = "checkpoints"
LAST = f"{CHECKPOINTS}/last.pt"
BEST = f"{CHECKPOINTS}/best.pt"
SAMPLES = "samples"
SAMPLES_JSON = f"{SAMPLES}/samples.json"   # jobs.run_model writes both, the reports read the .json
SAMPLES_MD = f"{SAMPLES}/samples.md"
EVAL = "eval"                       # evaluations' results, one JSON each:
CAUSAL = "causal.json"              #   jobs.causal_eval (leak-free loss, future-leak probe)
LENGTHS = "lengths.json"            #   jobs.length_eval (loss at several context lengths)
ATTENTION_RANK = "attention_rank.json"   # jobs.tools.attention_rank
SLURM = "slurm"
LOSS_PLOT = "loss.png"              # reports.curves, after training (and in the report's run folders)
PPL_PLOT = "ppl.png"
ACCURACY_PLOT = "accuracy.png"      # classifier runs (reports.classify)
LABELS = "labels.json"              # classify: class ids -> label strings
COMPARISON = "comparison.json"      # cpu_gpu_comparison: CPU vs GPU speed (and .md to read)
COMPARISON_MD = "comparison.md"


def runs_root(flag: Path | str | None = None) -> Path:
    """The runs root: the flag, else $RUNS_ROOT, else ./runs; `~` expanded (`--runs-root=~/x` and
    RUNS_ROOT='~/x' reach us unexpanded), not resolved."""
    for value in (flag, os.environ.get("RUNS_ROOT")):
        if value not in (None, ""):
            return Path(value).expanduser()
    return Path("runs")


def run_dir_for(runs_root: Path, job: str, name: str, cfg_hash: str) -> Path:
    """Where a run of `job` with this config lives: the same config always maps here."""
    return Path(runs_root) / job / f"{name}-{cfg_hash}"


def is_complete(run_dir: Path) -> bool:
    """True once the run wrote summary.json, its last artefact."""
    return (Path(run_dir) / SUMMARY).is_file()


# read once: os.umask can only be read by setting it, which would race with other threads
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def umask_mode(is_dir: bool = False) -> int:
    """The mode open()/mkdir() would give a new file (0o666) or folder (0o777) under the umask:
    temp files start private (0o600), so files renamed into place get this mode instead."""
    return (0o777 if is_dir else 0o666) & ~_UMASK


@contextlib.contextmanager
def atomic_file(path: Path, fsync: bool = True) -> Iterator[BinaryIO]:
    """The one atomic writer: yields a binary file (its `name`: the temp path) beside `path`,
    `.<name>.*.tmp` (what gpt.runlock.remove_stale_tmp sweeps after a kill), renamed over `path`
    when the block ends without an error: never a half file. `fsync`: the content is on disk
    before the rename (a figure that can be drawn again skips it). The file gets the umask's
    mode, as a plain open() would (teammates may read runs). On an error the temp file goes and
    the error is raised; an OSError naming no file (a full disk) names `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)   # reopened by name so that the caller can read the temp file back (a checksum)
    try:
        os.chmod(tmp, umask_mode())
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None   # say which file (disk full)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through atomic_file (fsync, then rename)."""
    with atomic_file(path) as f:
        f.write(data)


def write_json(path: Path, obj) -> None:
    """Write `obj` as indented, key-sorted JSON, atomically."""
    write_atomic(Path(path), (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> dict:
    """Read a JSON object; a missing or corrupt file raises RunFileError naming the file."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFileError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise RunFileError(f"{path} is a folder, not a JSON file; move it away") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path} is not valid JSON ({exc}); the run dir may be damaged: fix or "
                           f"remove that file") from None
    if not isinstance(obj, dict):
        raise RunFileError(f"{path} should hold a JSON object; fix or remove that file")
    return obj


def append_jsonl(path: Path, row: dict, durable: bool = True) -> None:
    """Append one row, so a kill loses at most the row being written; a failed write (disk full,
    file size limit) is cut off again, so no half row stays behind.

    `durable` also flushes it to the disk (fsync), so it outlives a crash of the machine too;
    durable=False leaves that to the next `sync_file` (an fsync costs 0.5 ms on a local disk and
    can cost tens on a cluster's network filesystem: the trainer's per-step rows skip it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=True) + "\n"
    # unbuffered: a failed write must not be flushed again when the file closes
    with open(path, "a+b", buffering=0) as f:
        size = f.seek(0, os.SEEK_END)
        try:
            # a previous crash may have left a partial last line: start ours on a fresh line
            fresh = size > 0 and os.pread(f.fileno(), 1, size - 1) != b"\n"
            data = memoryview((b"\n" if fresh else b"") + line.encode())
            while data:                       # a short write (size limit) is followed by an error
                data = data[f.write(data):]
            if durable:
                os.fsync(f.fileno())
        except OSError as exc:
            f.truncate(size)
            raise OSError(exc.errno, exc.strerror, str(path)) from None   # say which file


def sync_file(path: Path) -> None:
    """Flush what was appended to `path` to the disk (fsync); a missing file is left alone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """All parseable object rows in file order; truncated or garbled lines are skipped; a missing
    file (or a folder in its place) reads as no rows."""
    rows = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    row = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):   # gone, or not a file
        return []
    return rows


def read_summary(path: Path) -> dict:
    """summary.json, checked (gpt.rundir_checks.check_summary): RunFileError naming the file and
    key when it is missing, not JSON, or holds a value no run writes."""
    return check_summary(read_json(path), Path(path))


def read_metrics(path: Path) -> list[dict]:
    """The rows of metrics.jsonl whose kind, step and figures have the types a run writes: a
    truncated, garbled or hand-edited row is left out (as read_jsonl leaves out unparseable ones)."""
    return [row for row in read_jsonl(path) if valid_metrics_row(row)]


def latest_per_step(rows: list[dict], kind: str) -> list[dict]:
    """Rows of one kind, the last written per step, sorted by step (resumes repeat steps)."""
    by_step = {}
    for row in rows:
        if row.get("kind") == kind and isinstance(row.get("step"), int):
            by_step[row["step"]] = row
    return [by_step[s] for s in sorted(by_step)]
