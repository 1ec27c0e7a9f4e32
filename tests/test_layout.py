"""DESIGN.md's import direction, checked by reading imports: main -> jobs -> {gpt, data}."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def test_gpt_library_knows_nothing_of_jobs_data_reports_or_slurm():
    for path in sorted((REPO / "gpt").glob("*.py")):
        bad = _imports(path) & {"jobs", "data", "reports", "submitit", "main"}
        assert not bad, f"gpt/{path.name} imports {bad}"


def test_only_the_launcher_imports_submitit():
    users = [p.relative_to(REPO).as_posix() for p in REPO.rglob("*.py")
             if ".venv" not in p.parts and "tests" not in p.parts and "submitit" in _imports(p)]
    assert users == ["jobs/launch.py"]


def test_data_does_not_import_jobs_or_reports():
    assert not _imports(REPO / "data.py") & {"jobs", "reports", "main", "submitit"}


def test_files_stay_short():
    long_files = {p.relative_to(REPO).as_posix(): n for p in REPO.rglob("*.py")
                  if ".venv" not in p.parts and (n := len(p.read_text().splitlines())) > 450}
    assert not long_files, f"split these files (DESIGN: one idea per file): {long_files}"
