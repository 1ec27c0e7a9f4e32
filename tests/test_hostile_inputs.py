"""Every case of scripts/hostile_inputs.py: one `error: ...` line (exit 2) that names the fix, and
no file changed (sha256 of every file before/after), in-process on copies of one 3-step run."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_inputs  # noqa: E402


@pytest.fixture(scope="module")
def base(tmp_path_factory, data_root):
    import os
    os.environ.setdefault("DATA_ROOT", str(data_root))
    cache = tmp_path_factory.mktemp("cache")
    return hostile_inputs.make_base(tmp_path_factory.mktemp("base"), cache), cache


@pytest.mark.parametrize("case", hostile_inputs.CASES, ids=[c.name for c in hostile_inputs.CASES])
def test_hostile_input_is_one_line_and_changes_nothing(case, base, tmp_path):
    run, cache = base
    result = hostile_inputs.run_case(case, run, tmp_path, cache)
    assert result["ok"], result
    assert result["unchanged"], f"{case.name}: files changed on disk"
