"""Integration tests against real Slurm daemons (scripts/local_slurm.sh start).

Every test module here sets `pytestmark = pytest.mark.slurm`; helpers are in slurm_helpers.py.
Without a cluster they skip with the reason; in CI (CI=true) they fail instead, so a broken CI
cluster cannot pass silently. Jobs are tiny (smoke presets, 1 CPU, 2 GB): two fit the 2-core CI
machine at once.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cluster_problem() -> str | None:
    if shutil.which("sinfo") is None:
        return "sinfo not found: no Slurm client here (start one: sudo bash scripts/local_slurm.sh start)"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if "UP" not in ping.stdout:
        return f"slurmctld is not up ({ping.stdout.strip() or ping.stderr.strip()})"
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.split()
    if not {"idle", "mixed", "allocated", "completing"} & {s.rstrip("*~#!%$@^-") for s in states}:
        return f"no node is usable (sinfo says: {' '.join(states) or 'nothing'})"
    return None


@pytest.fixture(scope="session", autouse=True)
def slurm_cluster():
    problem = _cluster_problem()
    if problem and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs a running Slurm cluster: {problem}", pytrace=False)
    if problem:
        pytest.skip(problem)


@pytest.fixture
def env(data_root) -> dict:
    """The environment a submitted job inherits: this venv active, the shared data root."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "VIRTUAL_ENV": sys.prefix, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "DATA_ROOT": str(data_root), "PYTHONUNBUFFERED": "1"}


class SbatchLog:
    """An `sbatch` first on PATH that logs each call, then runs the real one."""

    def __init__(self, folder: Path, env: dict):
        self.log = folder / "sbatch-calls.log"
        shim = folder / "bin" / "sbatch"
        shim.parent.mkdir(parents=True)
        shim.write_text(f'#!/bin/bash\necho "$*" >> "{self.log}"\nexec {shutil.which("sbatch")} "$@"\n')
        shim.chmod(0o755)
        self.env = {**env, "PATH": f"{shim.parent}:{env['PATH']}"}

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def sbatch_log(env, tmp_path) -> SbatchLog:
    return SbatchLog(tmp_path / "sbatch-shim", env)
