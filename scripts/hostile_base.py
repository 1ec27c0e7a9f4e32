"""The harness of scripts/hostile_inputs.py: a case, the base run every case copies, and running a
case (main.main in this process, or main.py in a subprocess under a file-size limit) with every
file's sha256 taken before and after.

A case either expects ONE `error: ...` line (exit 2, `expect` in it) or a correct run (exit 0,
`expect` in stdout, and `check` finds nothing wrong). Files may change only where `changes`
allows (glob patterns relative to the case's folder); env.json, where each start of a run
records itself, is always left out.
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import main  # noqa: E402  (after the path insert: run from anywhere)

RUN = "runs/full_run/*"          # the base run dir, as a `changes` pattern


@dataclass(frozen=True)
class Case:
    """`prepare(work, run_dir)` sets up the hostile state and returns main.py's argv."""
    name: str
    prepare: Callable[[Path, Path], list[str]]
    expect: str                       # a piece of the error line (or of stdout, for exit 0)
    code: int = 2
    env: dict = field(default_factory=dict)
    changes: tuple[str, ...] = ()     # files allowed to change (globs relative to the case folder)
    fsize: int | None = None          # run in a subprocess with RLIMIT_FSIZE (bytes): a full disk
    check: Callable[[Path, Path], str | None] | None = None   # exit-0 cases: what is wrong, or None


def write(path: Path, data: bytes | str) -> None:
    """Create `path` (and its folders) holding `data`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def job(*extra: str) -> list[str]:
    """argv of the base run (a 3-step smoke full_run) plus `extra`."""
    return ["full_run", "--preset", "smoke", "train.max_iters=3", *extra]


def resume(work: Path) -> list[str]:
    """argv that resumes (or returns) the base run in the case's copy."""
    return job("--runs-root", str(work / "runs"))


ATTEMPT_LOG = "env.json"   # each start of a run appends the attempt (host, time): the one allowed change


def tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (files) or "dir", of everything under root but env.json files."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        filenames = [f for f in filenames if f != ATTEMPT_LOG]
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def make_base(work: Path, cache: Path) -> Path:
    """A finished 3-step smoke run under work/runs; returns its run dir."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main.main([*job("--runs-root", str(work / "runs"), "--cache-dir", str(cache))])
    assert code == 0, "the base smoke run failed"
    [run] = (work / "runs" / "full_run").iterdir()
    return run


def run_in_process(argv: list[str], env: dict) -> tuple[object, str, str]:
    """(exit code or "traceback", stdout, stderr) of main.main(argv) in this process."""
    err, old_env = io.StringIO(), {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(err):
            try:
                code = main.main(argv)
            except SystemExit as exc:
                code = exc.code
            except Exception as exc:   # a bug: main.main let a traceback out
                code = "traceback"
                print(f"Traceback: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        for k, v in old_env.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return code, out.getvalue(), err.getvalue()


def run_subprocess(argv: list[str], env: dict, fsize: int | None) -> tuple[object, str, str]:
    """(exit code or "traceback", stdout, stderr) of `python main.py argv`, under a file-size
    limit of `fsize` bytes if given (what a full disk looks like to the writes)."""
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))
    res = subprocess.run([sys.executable, str(REPO / "main.py"), *argv], capture_output=True, text=True,
                         env={**os.environ, **env}, preexec_fn=limit, timeout=300, cwd=REPO)
    code = "traceback" if "Traceback" in res.stderr else res.returncode
    return code, res.stdout, res.stderr


def changed(before: dict, after: dict, allowed: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(every path that differs, those no `allowed` pattern covers); a temp file left behind by
    an atomic write (`.<name>.*.tmp`) is never allowed."""
    diff = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return diff, [p for p in diff if not any(fnmatch.fnmatch(p, pat) for pat in allowed)
                  or fnmatch.fnmatch(os.path.basename(p), ".*.tmp")]


def run_case(case: Case, base: Path, scratch: Path, cache: Path) -> dict:
    """Copy the base runs, prepare, checksum, run main.py, checksum again; judge the outcome."""
    work = scratch / case.name.replace(" ", "_").replace("/", "_")[:40]
    shutil.copytree(base.parent.parent.parent, work / "", dirs_exist_ok=True)
    run = work / "runs" / "full_run" / base.name
    argv = case.prepare(work, run)
    if "--cache-dir" not in argv and argv[0] not in ("sample", "status", "report"):
        argv += ["--cache-dir", str(cache)]
    env = {k: v.replace("WORK", str(work)) for k, v in case.env.items()}
    before, before_cache = tree(work), tree(cache)
    code, out, err = (run_subprocess(argv, env, case.fsize) if case.fsize else run_in_process(argv, env))
    lines = [line for line in err.splitlines() if line.strip()]
    if case.code == 2:
        ok = code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and case.expect in lines[0]
    else:
        problem = case.check(work, run) if case.check else None
        ok = code == case.code and case.expect in out and problem is None
        lines = lines if problem is None else [f"CHECK FAILED: {problem}", *lines]
    diff, unexpected = changed({**before, **{f"cache/{k}": v for k, v in before_cache.items()}},
                               {**tree(work), **{f"cache/{k}": v for k, v in tree(cache).items()}},
                               case.changes)
    first = lines[0] if lines else (out.strip().splitlines() or [""])[-1]
    return {"case": case.name, "code": code, "lines": lines, "first": first, "stdout": out,
            "changed": diff, "unchanged": not unexpected, "unexpected_changes": unexpected, "ok": ok,
            "traceback": code == "traceback" or "Traceback" in err,
            "silent": case.code == 2 and code == 0}
