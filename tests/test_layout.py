"""docs/ARCHITECTURE.md's import rules, checked by reading imports (module- and function-level).

Between the top-level parts: main -> jobs -> {gpt, data, reports}; data -> gpt;
reports -> gpt.rundir; gpt -> nothing of ours.

Inside jobs/, by role (every module of jobs/ has exactly one):
- job: a module in jobs.JOBS (jobs/<name>.py); a leaf (tests/test_jobs_are_leaves.py).
- helper: any other module directly in jobs/ (the registry jobs/__init__.py, context, errors,
  common, stage, run_model, length_eval, ...): what jobs share.
- launcher: jobs/launcher/ (how tasks run: inline, local, Slurm).
- tool: jobs/tools/ (subcommands that are not jobs).
- shim: jobs/worker.py and jobs/pack_worker.py, which forward to the launcher's worker for
  Slurm jobs queued from the old layout (removed in the next release).
The rules:
1. The launcher imports, from the rest of jobs/, only the registry (`jobs`: JOBS, job_module,
   config_type), jobs.context (JobContext) and jobs.errors: never a job, a helper or a tool.
   It reaches a job by name.
2. Jobs and helpers import nothing from the launcher or the tools: a job needs no launcher
   (it gets a JobContext, a helper), and what a tool and a job share is a helper.
3. Tools and main.py import, from the launcher, only its public entry (LAUNCHER_PUBLIC: dispatch,
   the request and its flags, tasks, the --pack flags, and what status reads of submitted jobs),
   and no job module: they reach jobs by name. Tools may import helpers and other tools.
"""
import ast
import importlib
import sys
from pathlib import Path

from jobs import JOBS

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


SHIMS = {"jobs.worker", "jobs.pack_worker"}
LAUNCHER_MAY_USE = {"jobs", "jobs.context", "jobs.errors"}
LAUNCHER_PUBLIC = {
    "jobs.launcher.launch": {"dispatch"},
    "jobs.launcher.request": {"LaunchRequest", "add_arguments", "from_args"},
    "jobs.launcher.tasks": {"Task", "make_tasks"},
    "jobs.launcher.pack": {"add_arguments"},                      # --pack/--pack-mode (sweep, reproduce)
    "jobs.launcher.slurm_jobs": {"ACTIVE_STATES", "cancel_jobs", "job_details", "job_states", "log_path"},
    "jobs.launcher.cluster": {"JOBS_LOG"},                        # where a run dir logs its Slurm jobs
}


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _role(module: str) -> str | None:
    if module in SHIMS:
        return "shim"
    if module == "jobs.launcher" or module.startswith("jobs.launcher."):
        return "launcher"
    if module == "jobs.tools" or module.startswith("jobs.tools."):
        return "tool"
    if module in JOBS.values():
        return "job"
    if module == "jobs" or module.startswith("jobs."):
        return "helper"
    return "main" if module == "main" else None


def _jobs_imports(source: str) -> list[tuple[str, str | None]]:
    """(module, name) of each import from jobs; name None for a whole module (`import jobs.x`,
    `from jobs import x` when x is a module)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.split(".")[0] == "jobs"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "jobs":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                is_module = any((REPO / full.replace(".", "/")).with_suffix(ext).exists() for ext in (".py", ""))
                out.append((full, None) if is_module else (node.module, a.name))
    return out


def role_violations(importer: str, source: str) -> list[str]:
    """The imports of module `importer` (its source) that break the role rules of this file's docstring."""
    role, bad = _role(importer), []
    for module, name in _jobs_imports(source):
        used = _role(module)
        if role == "launcher" and used != "launcher" and module not in LAUNCHER_MAY_USE:
            bad.append(f"the launcher's {importer} imports the {used} {module}")
        elif role in ("job", "helper") and used in ("launcher", "tool", "shim"):
            bad.append(f"the {role} {importer} imports the {used} {module}")
        elif role in ("tool", "main") and used == "job":
            bad.append(f"{importer} imports the job module {module} (reach it by name: jobs.job_module)")
        elif role in ("tool", "main") and used in ("launcher", "shim") and \
                name not in LAUNCHER_PUBLIC.get(module, ()):
            bad.append(f"{importer} imports {module}.{name or '*'}, not the launcher's public entry")
    return list(dict.fromkeys(bad))      # one line per module, however many names


def test_every_module_of_jobs_has_a_role_and_obeys_its_rules():
    bad = []
    for path in [*sorted((REPO / "jobs").rglob("*.py")), REPO / "main.py"]:
        module = _module_name(path.relative_to(REPO))
        assert _role(module), module
        bad += role_violations(module, path.read_text())
    assert not bad, "against the role rules (tests/test_layout.py, docs/ARCHITECTURE.md): " + "; ".join(bad)


def test_every_role_is_where_its_rules_say():
    assert {_role(m) for m in JOBS.values()} == {"job"}
    assert all((REPO / (m.replace(".", "/") + ".py")).parent == REPO / "jobs" for m in JOBS.values())
    for module, names in LAUNCHER_PUBLIC.items():                 # the public entry exists
        assert all(hasattr(importlib.import_module(module), n) for n in names), module


def test_the_role_rules_bite():
    assert role_violations("jobs.stage", "from jobs.tools.sample import load_run_model") == [
        "the helper jobs.stage imports the tool jobs.tools.sample"]
    assert role_violations("jobs.full_run", "from jobs.launcher import launch") == [
        "the job jobs.full_run imports the launcher jobs.launcher.launch"]
    assert role_violations("jobs.launcher.launch", "from jobs.stage import train_stage\nfrom jobs import full_run") == [
        "the launcher's jobs.launcher.launch imports the helper jobs.stage",
        "the launcher's jobs.launcher.launch imports the job jobs.full_run"]
    assert role_violations("jobs.tools.status", "from jobs.launcher.slurm_submit import build_script") == [
        "jobs.tools.status imports jobs.launcher.slurm_submit.build_script, not the launcher's public entry"]
    assert role_violations("jobs.tools.bench", "import jobs.evaluate") == [
        "jobs.tools.bench imports the job module jobs.evaluate (reach it by name: jobs.job_module)"]
    assert role_violations("jobs.tools.sweep_cli", "from jobs.launcher.launch import dispatch\n"
                                                   "from jobs.stage import train_stage") == []
