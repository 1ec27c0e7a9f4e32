"""The README's cluster section, followed literally: its `cluster-quickstart` block runs as it
is (bash -e) on the CI Slurm, with the environment its setup block exports."""
from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest
from slurm_helpers import REPO

pytestmark = pytest.mark.slurm


def _quickstart() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- cluster-quickstart.*?-->\n```bash\n(.*?)```", text, re.S)
    assert match, "README.md lost its cluster-quickstart block"
    return match.group(1)


def test_readme_cluster_section_works_end_to_end(env, tmp_path):
    # a checkout seen from elsewhere: `python main.py` and the templates as the README calls them;
    # RUNS_ROOT and DATA_CACHE on a shared (not node-local) folder, as the README asks
    for name in ("main.py", "data.py", "gpt", "jobs", "reports", "sbatch_templates"):
        (tmp_path / name).symlink_to(REPO / name)
    shared = REPO / "slurm" / f"readme-{uuid.uuid4().hex[:8]}"
    runs = shared / "runs"
    job_env = {**env, "RUNS_ROOT": str(runs), "DATA_CACHE": str(shared / "cache")}
    try:
        res = subprocess.run(["bash", "-e", "-c", _quickstart()], cwd=tmp_path, env=job_env,
                             capture_output=True, text=True, timeout=600)
        out = res.stdout + res.stderr
        assert res.returncode == 0, out
        [job] = re.findall(r"Submitted batch job (\d+)", out)
        assert "[launch] completed: " in (tmp_path / f"full_run-{job}.out").read_text()
        assert "[launch] resources: partition=" in out and "gpus=0 cpus=1 mem=2G time=10min" in out
        rows = [line for line in out.splitlines() if "completed" in line and "smoke" in line]
        assert len(rows) >= 5, out                       # status: the template run and 4 sweep runs
        index = (tmp_path / "report" / "index.md").read_text()
        assert index.count("full_run/smoke") >= 5
    finally:
        shutil.rmtree(shared, ignore_errors=True)
