"""Tests use the toolkit's public names only: an `_name` of ours may change without notice, so a
test that imports it, reads it off a module or monkeypatches it pins an internal. A test that
needs one makes it public (with a docstring) or goes through the public function."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
OURS = {"gpt", "jobs", "reports", "main", "scripts", "data", "data_cache", "data_readers",
        "data_registry", "data_roots", "data_sources"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """`line: what` for each private name of our modules that `source` imports or reads off one."""
    tree = ast.parse(source)
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in OURS:
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names if _private(a.name)]
            modules |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] in OURS}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "setattr" and len(node.args) > 1
              and isinstance(node.args[0], ast.Name) and node.args[0].id in modules
              and isinstance(node.args[1], ast.Constant) and _private(str(node.args[1].value))):
            found.append(f"{node.lineno}: setattr({node.args[0].id}, {node.args[1].value!r})")
    return sorted(found, key=lambda use: int(use.split(':')[0]))   # ast.walk goes breadth-first


def test_the_check_catches_each_form():
    source = ("from gpt.batches import _rng\nimport data\nfrom jobs import classify\n"
              "data._cli([])\nclassify._build()\nmonkeypatch.setattr(data, '_tokenize', f)\n"
              "from numpy import _private_of_theirs\nmodel._orig_mod\n")
    assert private_uses(source) == ["1: from gpt.batches import _rng", "4: data._cli",
                                    "5: classify._build", "6: setattr(data, '_tokenize')"]


def test_no_test_uses_a_private_name_of_ours():
    uses = {str(p.relative_to(TESTS)): u for p in sorted(TESTS.rglob("*.py"))
            if p.name != Path(__file__).name and (u := private_uses(p.read_text(encoding="utf-8")))}
    assert uses == {}
