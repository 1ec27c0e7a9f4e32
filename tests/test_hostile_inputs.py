"""The cases of scripts/hostile_inputs.py: one `error: ...` line (exit 2) that names the fix and no
file changed (sha256 of every file before/after), or a correct run that changed only what it may;
in-process on copies of one 3-step run. The slow ones (a classify training per case, a main.py
subprocess per full-disk case) are sampled: one of each kind here, all of them in the script."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_inputs  # noqa: E402

SAMPLED = ("classify: UTF-8 BOM before the header", "classify: all texts empty",
           "classify: load_from_disk folder damaged", "full disk: last.pt write on resume")
CASES = [c for c in hostile_inputs.CASES
         if not (c.fsize or c.name.startswith("classify:")) or c.name in SAMPLED]


@pytest.fixture(scope="module")
def base(tmp_path_factory, data_root):
    import os
    os.environ.setdefault("DATA_ROOT", str(data_root))
    cache = tmp_path_factory.mktemp("cache")
    return hostile_inputs.make_base(tmp_path_factory.mktemp("base"), cache), cache


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_one_line_and_changes_nothing(case, base, tmp_path):
    run, cache = base
    result = hostile_inputs.run_case(case, run, tmp_path, cache)
    assert result["ok"], result
    assert result["unchanged"], f"{case.name}: files changed that may not: {result['unexpected_changes']}"
    assert not result["traceback"] and not result["silent"]
