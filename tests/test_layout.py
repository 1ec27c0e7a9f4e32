"""docs/ARCHITECTURE.md's import rules, checked by reading imports (module- and function-level):
main -> jobs -> {gpt, data, reports}; data -> gpt; reports -> gpt.rundir; gpt -> nothing of ours."""
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OURS = {"gpt", "jobs", "reports", "data", "main"}
# which of our top-level packages each part may import (ARCHITECTURE.md, "Layout")
ALLOWED = {"gpt": {"gpt"}, "data": {"gpt", "data"}, "jobs": {"gpt", "data", "jobs", "reports"},
           "reports": {"gpt", "reports"}, "main": {"gpt", "data", "jobs"}}


def _sources(*, tests: bool = True) -> list[Path]:
    return sorted(p for p in REPO.rglob("*.py")
                  if not {".venv", ".git"} & set(p.parts) and (tests or "tests" not in p.parts))


def _part(path: Path) -> str:
    return path.relative_to(REPO).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def test_gpt_library_knows_nothing_of_jobs_data_reports_or_slurm():
    for path in sorted((REPO / "gpt").rglob("*.py")):
        bad = _imports(path) & {"jobs", "data", "reports", "submitit", "main"}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_only_the_launcher_imports_submitit():
    users = [p.relative_to(REPO).as_posix() for p in _sources(tests=False) if "submitit" in _imports(p)]
    assert users == ["jobs/launcher/launch_local.py"]   # --executor local only: inline runs need no submitit


def test_data_does_not_import_jobs_or_reports():
    for path in sorted(REPO.glob("data*.py")):   # data.py and its registry, readers, sources, cache
        assert not _imports(path) & {"jobs", "reports", "main", "submitit"}, path.name


PRODUCT_LINES = 300   # gpt/, jobs/, reports/, data*.py, main.py, scripts/: one idea per file
OTHER_LINES = 450     # tests and the rest


def _product(rel: Path) -> bool:
    top = rel.parts[0]
    return top in ("gpt", "jobs", "reports", "scripts") or rel.as_posix() == "main.py" or (
        len(rel.parts) == 1 and top.startswith("data") and top.endswith(".py"))


def test_files_stay_short():
    long_files = {}
    for path in [*REPO.rglob("*.py"), *(REPO / "scripts").rglob("*.sh")]:
        rel = path.relative_to(REPO)
        if {".venv", ".git"} & set(rel.parts):
            continue
        limit = PRODUCT_LINES if _product(rel) else OTHER_LINES
        if (n := len(path.read_text().splitlines())) > limit:
            long_files[rel.as_posix()] = n
    assert not long_files, f"split these files (DESIGN: one idea per file): {long_files}"


def test_each_part_imports_only_what_the_architecture_allows():
    bad = []
    for path in _sources(tests=False):
        part = _part(path)
        if part in ALLOWED:
            for top in sorted(_imports(path) & OURS - ALLOWED[part]):
                bad.append(f"{path.relative_to(REPO)} imports {top}")
    assert not bad, "against docs/ARCHITECTURE.md's import rules: " + "; ".join(bad)


def test_reports_reach_into_gpt_only_for_rundir():
    for path in (REPO / "reports").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("gpt"):
                names = {node.module} if node.module != "gpt" else {f"gpt.{a.name}" for a in node.names}
                assert names <= {"gpt.rundir"}, f"reports/{path.name} imports {names}"
            elif isinstance(node, ast.Import):
                assert all(a.name in ("gpt.rundir",) or not a.name.startswith("gpt") for a in node.names)


def _private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def test_no_import_of_a_private_name_of_a_dependency():
    """A leading underscore is a dependency's internal API: it changes without notice."""
    local = OURS | {p.stem for p in (REPO / "tests").glob("*.py")}
    bad = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            top = names[0].split(".")[0]
            if top in local or top in sys.stdlib_module_names or top == "__future__":
                continue
            private = [n for n in names if _private(n)]
            if private:
                bad.append(f"{path.relative_to(REPO)}:{node.lineno} {private[-1]}")
    assert not bad, "private names of dependencies imported: " + "; ".join(bad)


def test_run_dir_file_names_come_from_gpt_rundir():
    """jobs/, reports/ and main.py name run-dir files through gpt.rundir's constants, so a rename
    is one edit (docstrings and comments may still mention the names)."""
    from gpt import rundir
    names = {v for k, v in vars(rundir).items() if k.isupper() and isinstance(v, str) and "." in v}
    names |= {n.rsplit("/", 1)[-1] for n in names}      # "checkpoints/last.pt" -> "last.pt" too
    bad = []
    for path in [*sorted((REPO / "jobs").rglob("*.py")), *sorted((REPO / "reports").glob("*.py")),
                 REPO / "main.py"]:
        tree = ast.parse(path.read_text(), filename=str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)}
        bad += [f"{path.relative_to(REPO)}:{n.lineno} {n.value!r}" for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and n.value in names and id(n) not in docstrings]
    assert not bad, "use gpt.rundir's constant instead of the literal: " + "; ".join(bad)
