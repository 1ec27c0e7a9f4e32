"""Every public function and class in gpt/, jobs/, reports/, data*.py and main.py has a docstring.

Read from the AST: public = a top-level def/class not starting with "_", or such a method of a
public class. A method that overrides a documented method of an in-repo base class (by class
name, e.g. `ExampleSet.size` documented once) inherits its docstring, as `inspect.getdoc` does.
"""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = [*sorted(REPO.glob("data*.py")), REPO / "main.py",
         *[p for part in ("gpt", "jobs", "reports") for p in sorted((REPO / part).rglob("*.py"))]]


def _classes() -> dict[str, tuple[list[str], dict[str, bool]]]:
    """class name -> (base names, {method: has docstring}) over every scanned file."""
    out = {}
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                methods = {m.name: ast.get_docstring(m) is not None for m in node.body
                           if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
                out.setdefault(node.name, (bases, methods))
    return out


def _inherits_doc(classes, bases: list[str], method: str, seen=()) -> bool:
    for base in bases:
        if base in classes and base not in seen:
            base_bases, methods = classes[base]
            if methods.get(method) or _inherits_doc(classes, base_bases, method, (*seen, base)):
                return True
    return False


def undocumented() -> list[str]:
    """`path:line name` of every public definition without a docstring."""
    classes, missing = _classes(), []
    for path in FILES:
        rel = path.relative_to(REPO).as_posix()
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            if ast.get_docstring(node) is None:
                missing.append(f"{rel}:{node.lineno} {node.name}")
            if isinstance(node, ast.ClassDef):
                bases = classes[node.name][0]
                for m in node.body:
                    if (isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")
                            and ast.get_docstring(m) is None and not _inherits_doc(classes, bases, m.name)):
                        missing.append(f"{rel}:{m.lineno} {node.name}.{m.name}")
    return missing


def test_every_public_definition_has_a_docstring():
    missing = undocumented()
    assert not missing, f"{len(missing)} public definitions without a docstring:\n" + "\n".join(missing)
