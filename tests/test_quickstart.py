"""The README's quick start as a newcomer runs it: `main.py full_run` from an empty folder, with no
DATA_ROOT and no network (the corpus ships in corpora/), at toy size through overrides (the real
command trains 1,000 steps; its time is measured once and given in the README)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOY = ["train.max_iters=20", "train.eval_interval=10", "train.eval_iters=2", "sample.max_new_tokens=20"]


def test_full_run_needs_no_data_root_and_no_network(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "DATA_CACHE", "RUNS_ROOT")}
    env.update(TOOLKIT_OFFLINE="1", XDG_CACHE_HOME=str(tmp_path / "xdg"))
    res = subprocess.run([sys.executable, str(REPO / "main.py"), "full_run", *TOY], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs" / "full_run").iterdir()
    assert run_dir.name.startswith("shakespeare-small-")
    for name in ("loss.png", "ppl.png", "summary.json"):
        assert (run_dir / name).stat().st_size > 0, name
    samples = json.loads((run_dir / "samples" / "samples.json").read_text())
    assert len({row["temperature"] for row in samples}) == 6             # the six temperatures
    assert not (tmp_path / "xdg" / "slm-toolkit").exists()             # nothing was downloaded
