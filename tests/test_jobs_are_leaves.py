"""docs/ARCHITECTURE.md's rule for jobs/: job modules are leaves. No module registered in
jobs.JOBS imports another job module (module- or function-level); shared pieces live in
non-job modules (jobs/common.py, jobs/stage.py, jobs/cs224n.py, ...) and a job that runs
others as stages reaches them by name (jobs.job_module)."""
import ast
from pathlib import Path

from jobs import JOBS, job_module

REPO = Path(__file__).resolve().parents[1]
JOB_MODULES = set(JOBS.values())


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, `from jobs import x` counted as jobs.x too."""
    nodes = list(ast.walk(ast.parse(path.read_text(), filename=str(path))))
    plain = {alias.name for n in nodes if isinstance(n, ast.Import) for alias in n.names}
    froms = [n for n in nodes if isinstance(n, ast.ImportFrom) and n.module and n.level == 0]
    return plain | {n.module for n in froms} | {f"{n.module}.{alias.name}" for n in froms for alias in n.names}


def test_no_job_module_imports_another_job_module():
    for job, module in JOBS.items():
        path = REPO / (module.replace(".", "/") + ".py")
        others = (_imported_modules(path) & JOB_MODULES) - {module}
        assert not others, f"{path.relative_to(REPO)} imports the job module(s) {sorted(others)}"


def test_job_module_reaches_a_job_by_name_and_refuses_unknown_names():
    assert job_module("evaluate").JOB == "evaluate"
    try:
        job_module("evalute")
    except KeyError as exc:
        assert "unknown job 'evalute'" in str(exc)
    else:
        raise AssertionError("job_module accepted an unknown name")
