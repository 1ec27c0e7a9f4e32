"""Every `bash` block of README.md and docs/*.md runs, so the docs cannot drift from the code.

The convention (README.md, "Development"): an HTML comment on the line right before a block says
how it is run; without one the block runs as written.
    <!-- test: print-config -->     `python main.py JOB ...` lines get --print-config
    <!-- test: toy -->              `python main.py JOB|sweep|reproduce|bench job ...` lines get TOY; `bench train`: BENCH_TOY
    <!-- test: after smoke -->      runs/full_run/smoke-* exists (a toy smoke run, made once)
    <!-- test: installed -->        the venv + pip prefix and `.venv/bin/` are dropped; pytest only collects;
                                    no DATA_ROOT, RUNS_ROOT or DATA_CACHE is set
    <!-- test: skip (REASON) -->    not run (GPU, internet, a cluster or hours only; the reason says which)
    <!-- cluster-quickstart: ... --> run on real Slurm by tests/slurm/test_slurm_readme.py
Modes combine with commas (`test: toy, after smoke`). A block runs with `bash -e -o pipefail` in
a scratch folder linking the repository's files, with the tests' DATA_ROOT, RUNS_ROOT and
DATA_CACHE in scratch folders, and TOOLKIT_OFFLINE=1 (conftest)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import JOBS

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOY = ("train.max_iters=2 train.eval_interval=2 train.eval_iters=1 train.log_interval=1 "
       "sample.max_new_tokens=8")
BENCH_TOY = "--steps 2 --warmup 1"
MODES = {"print-config", "toy", "after smoke", "installed"}
BLOCK = re.compile(r"^(?:<!--(?P<directive>[^\n]*?)-->\n)?```bash\n(?P<body>.*?)^```$", re.M | re.S)
NOT_LINKED = {".git", ".venv", "runs", ".cache", "slurm", "report", ".pytest_cache", ".ruff_cache"}


def _blocks() -> list:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text[:match.start("body")].count("\n")
            found.append(pytest.param(match["directive"] or "", match["body"],
                                      id=f"{path.relative_to(REPO)}:{line}"))
    return found


def modes_of(directive: str) -> dict[str, str]:
    """The modes of a block's directive: {"skip": reason} or {mode: ""...}; a typo fails the test."""
    directive = directive.strip()
    if not directive:
        return {}
    if directive.startswith("cluster-quickstart:"):
        return {"skip": "run on a real Slurm cluster by tests/slurm/test_slurm_readme.py"}
    assert directive.startswith("test:"), f"unknown block directive {directive!r}"
    rest = directive.removeprefix("test:").strip()
    skip = re.fullmatch(r"skip \((.+)\)", rest)
    if skip:
        return {"skip": skip[1]}
    modes = {part.strip(): "" for part in rest.split(",")}
    assert set(modes) <= MODES, f"unknown mode in {directive!r}; the modes: {sorted(MODES)}, skip (REASON)"
    return modes


def rewrite(line: str, modes: dict[str, str]) -> str:
    """One command line as the test runs it (see the module docstring)."""
    if "installed" in modes:
        line = re.sub(r"^python3 -m venv \.venv && \.venv/bin/pip install [^&]*&& ", "", line)
        line = line.replace(".venv/bin/", "")
        if re.match(r"python -m pytest\b", line):
            return line + " --collect-only"
    command = re.match(r"python main\.py (\S+)", line)
    if not command:
        return line
    code, comment = re.match(r"(.*?)(\s+#\s.*)?$", line).groups()
    if command[1] in JOBS and "print-config" in modes:
        code += " --print-config"
    if "toy" in modes and (command[1] in JOBS or command[1] in ("sweep", "reproduce")
                           or line.startswith("python main.py bench job")):
        code += " " + TOY
    if "toy" in modes and line.startswith("python main.py bench train"):
        code += " " + BENCH_TOY
    return code + (comment or "")


@pytest.fixture(scope="session")
def docs_cache(tmp_path_factory) -> Path:
    """The prepared-data cache every block shares (preparing is atomic: safe to share)."""
    return tmp_path_factory.mktemp("docs-cache")


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory, data_root, docs_cache) -> Path:
    """A runs root with one toy `full_run --preset smoke` in it, for the `after smoke` blocks."""
    runs = tmp_path_factory.mktemp("docs-runs")
    env = {**os.environ, "DATA_ROOT": str(data_root), "DATA_CACHE": str(docs_cache), "RUNS_ROOT": str(runs)}
    subprocess.run([sys.executable, "main.py", "full_run", "--preset", "smoke", *TOY.split()], cwd=REPO,
                   env=env, check=True, capture_output=True, timeout=600)
    return runs


def test_the_docs_have_blocks_and_few_skips():
    blocks = _blocks()
    skipped = [b for b in blocks if "skip" in modes_of(b.values[0])]
    # few skips, each for what a test machine lacks: a GPU, the internet, a cluster, or the time
    assert len(blocks) >= 15 and len(skipped) <= 12, [b.id for b in skipped]
    assert all(re.search(r"GPU|internet|cluster|Slurm|minutes|hours", modes_of(b.values[0])["skip"])
               for b in skipped)
    assert rewrite("python main.py full_run --preset smoke   # note", {"print-config": ""}) == \
        "python main.py full_run --preset smoke --print-config   # note"
    assert rewrite("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
                   ".venv/bin/python main.py full_run", {"installed": "", "toy": ""}) == \
        f"python main.py full_run {TOY}"


# internal labels and paths of the machine the project was written on: a user has neither
FOREIGN = re.compile(r"SPEC [A-E]\b|SPEC\.md|shared/DESIGN|shared/data|/work/|\b[Ss]eed 00[0-4]\b")


def test_the_repository_names_no_document_or_path_a_user_lacks():
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no list of tracked files")
    offenders = []
    for name in listed.stdout.splitlines():
        path = REPO / name
        if name.startswith(("tests/", ".ci/")) or not path.is_file():
            continue
        text = path.read_bytes()[:2_000_000].decode("utf-8", errors="ignore")
        offenders += [f"{name}: {m[0]}" for m in FOREIGN.finditer(text)]
    assert offenders == []


@pytest.mark.parametrize("directive, body", _blocks())
def test_docs_block_runs(directive, body, docs_cache, data_root, tmp_path, request):
    modes = modes_of(directive)
    if "skip" in modes:
        pytest.skip(modes["skip"])
    for entry in REPO.iterdir():   # a checkout seen from elsewhere: relative paths as the docs use them
        if entry.name not in NOT_LINKED:
            (tmp_path / entry.name).symlink_to(entry)
    runs = tmp_path / "runs"
    if "after smoke" in modes:
        shutil.copytree(request.getfixturevalue("smoke_runs"), runs)
    script = "\n".join(rewrite(line, modes) for line in body.splitlines())
    env = {**os.environ, "DATA_ROOT": str(data_root), "DATA_CACHE": str(docs_cache),
           "RUNS_ROOT": str(runs), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    if "installed" in modes:   # the quick start: no variable set, the corpus ships with the repository
        env = {k: v for k, v in env.items() if k not in ("DATA_ROOT", "DATA_CACHE", "RUNS_ROOT")}
    res = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"{script}\n--- stdout\n{res.stdout[-3000:]}\n--- stderr\n{res.stderr[-3000:]}"
