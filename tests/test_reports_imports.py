"""`reports/` reads run dirs with the standard library, pandas and matplotlib: never torch."""
import ast
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1] / "reports"
FORBIDDEN_TOP = {"torch", "jobs", "data", "main", "submitit", "tokenizers"}


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            # `from gpt import rundir` imports the submodule gpt.rundir
            modules.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "gpt")
    return modules


def test_reports_never_imports_torch_nor_gpt_beyond_rundir():
    files = sorted(REPORTS.glob("*.py"))
    assert files, "reports/ has no modules"
    for path in files:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN_TOP, f"{path.name} imports {module}"
            if top == "gpt":
                assert module in ("gpt", "gpt.rundir"), f"{path.name} imports {module}; only gpt.rundir"
