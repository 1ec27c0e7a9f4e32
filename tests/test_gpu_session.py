"""scripts/gpu_session.sh rehearsed on the CPU (`--dry`): both stages run every step at toy size,
check the real command lines, and leave each step's results in the results folder; so a typo in
the script or a command never costs GPU time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_session.sh"


def _session(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHON": sys.executable, **(env or {})})


def test_both_stages_rehearse_on_the_cpu_and_keep_their_results(tmp_path, data_root):
    results, work = tmp_path / "results", tmp_path / "work"
    env = {"GPU_SESSION_RESULTS": str(results), "GPU_SESSION_WORK": str(work), "DATA_ROOT": str(data_root)}
    one = _session("--dry", "1", env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = _session("2", env={**env, "GPU_SESSION_DRY": "1"})
    assert two.returncode == 0, two.stderr[-3000:]

    steps = [json.loads(line) for line in (results / "steps.jsonl").read_text().splitlines()]
    assert [(s["step"], s["exit"]) for s in steps] == [
        ("tests", 0), ("bench-gpt2-124m", 0), ("bench-shakespeare-char", 0), ("bench-jhu-nano", 0),
        ("full_run-shakespeare_char", 0), ("cpu_gpu_comparison", 0)]
    # each stage's limits add up to well inside 8 minutes
    assert sum(s["limit_s"] for s in steps[:4]) <= 400 and sum(s["limit_s"] for s in steps[4:]) <= 400

    for name, preset in [("bench-gpt2-124m", "jhu-nano"), ("bench-shakespeare-char", "shakespeare-char"),
                         ("bench-jhu-nano", "jhu-nano")]:
        bench = json.loads((results / f"{name}.json").read_text())
        assert (bench["preset"], bench["device"]) == (preset, "cpu") and bench["trainer_vs_plain"] > 0
    summary = json.loads((results / "full_run-shakespeare_char" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 4
    assert (results / "full_run-shakespeare_char" / "loss.png").stat().st_size > 0
    comparison = json.loads((results / "cpu_gpu_comparison" / "comparison.json").read_text())
    assert [r["device"] for r in comparison["rows"]] == ["cpu"]
    assert not list(results.rglob("*.pt")), "checkpoints stay out of the results folder"

    report = (results / "README.md").read_text()
    assert report.count("real command checked:") == 5 and "does not parse" not in report
    for real in ("bench train --preset gpt2-124m --device cuda --compile --compare plain",
                 "full_run --preset shakespeare_char device=cuda train.compile=true",
                 "cpu_gpu_comparison --preset spec_a"):
        assert real in report
    assert "## stage 1 (dry" in report and "## stage 2 (dry" in report and "- torch " in report
    assert "| jhu-nano | cpu | False | 2 x 16 |" in report and "tests/gpu: " in report


def test_bad_arguments_are_one_line_errors_and_write_nothing(tmp_path):
    env = {"GPU_SESSION_RESULTS": str(tmp_path / "results"), "GPU_SESSION_WORK": str(tmp_path / "work")}
    for args, message in [((), "error: which stage?"), (("3",), "error: unknown argument '3'"),
                          (("--fast", "1"), "error: unknown argument '--fast'")]:
        res = _session(*args, env=env, timeout=60)
        assert res.returncode == 2 and res.stderr.startswith(message) and res.stderr.count("\n") == 1, res.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "work").exists()
    usage = _session("--help", timeout=60)
    assert usage.returncode == 0 and "bash scripts/gpu_session.sh 1" in usage.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the real stage would run")
def test_a_real_stage_without_a_gpu_says_how_to_rehearse_and_writes_nothing(tmp_path):
    env = {"GPU_SESSION_RESULTS": str(tmp_path / "results"), "GPU_SESSION_WORK": str(tmp_path / "work")}
    res = _session("1", env=env, timeout=120)
    assert res.returncode == 2 and res.stderr.startswith("error: no CUDA GPU visible"), res.stderr
    assert "bash scripts/gpu_session.sh --dry 1" in res.stderr and res.stderr.count("\n") == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "work").exists()
