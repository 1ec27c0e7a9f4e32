"""Every template example marked "any node" asks for what the smallest node has: no GPU, at most
2 CPUs and 2 GB (the size CI's Slurm and a laptop cluster offer). Each example line is submitted
as written, held (-H), read back from Slurm and cancelled: nothing runs."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from slurm_helpers import REPO, job_field

pytestmark = pytest.mark.slurm


def _any_node_examples() -> list[tuple[str, list[str]]]:
    """(template, sbatch argv) of each `#   sbatch ...  # ..., any node` comment (continued lines joined)."""
    found = []
    for path in sorted((REPO / "sbatch_templates").glob("*.sh")):
        text = re.sub(r"\\\n#\s*", " ", path.read_text())
        for line in text.splitlines():
            match = re.match(r"#\s+(sbatch .*?)\s+#.*\bany node\b", line)
            if match:
                found.append((path.name, shlex.split(match.group(1))))
    return found


def test_there_are_any_node_examples():
    names = {name for name, _ in _any_node_examples()}
    assert {"full_run.sh", "pretrain_finetune.sh", "sweep_array.sh", "multi_gpu.sh"} <= names, names


@pytest.mark.parametrize("template, argv", _any_node_examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_an_any_node_example_asks_for_no_gpu_and_a_small_node(template, argv, env, tmp_path):
    res = subprocess.run([argv[0], "--parsable", "-H", f"--output={tmp_path}/%j.out", *argv[1:]],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    job = res.stdout.strip().split(";")[0]
    try:
        tres = dict(kv.split("=", 1) for kv in job_field(job, "TRES").split(","))
    finally:
        subprocess.run(["scancel", job], check=True)
    assert not any("gpu" in key for key in tres), (template, tres)
    assert int(tres["cpu"]) <= 2 and tres["mem"] in ("1G", "2G", "1024M", "2048M"), (template, tres)
