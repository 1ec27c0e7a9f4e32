"""The CLI as a user runs it: artefacts of full_run, sampling, comparison, one-line errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpt import rundir

REPO = Path(__file__).resolve().parents[1]


def run_main(*args, env=None, cwd=REPO):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def smoke_run(data_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    res = run_main("full_run", "--preset", "smoke", "--runs-root", str(root), "--data-root",
                   str(data_root), "--cache-dir", str(cache))
    assert res.returncode == 0, res.stderr
    (run_dir,) = (root / "full_run").iterdir()
    return run_dir, root, cache


def test_full_run_smoke_writes_every_artefact(smoke_run):
    run_dir, _, _ = smoke_run
    for name in ("config.json", "env.json", "metrics.jsonl", "tokenizer.json", rundir.LAST,
                 rundir.BEST, "loss.png", "ppl.png", "samples/samples.json", "samples/samples.md",
                 "summary.json"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 60
    samples = json.loads((run_dir / "samples/samples.json").read_text())
    assert [s["temperature"] for s in samples] == [1.0, 0.1]
    env = json.loads((run_dir / "env.json").read_text())
    assert env["attempt"] == 0 and env["torch"]


def test_rerun_returns_at_once(smoke_run, data_root):
    run_dir, root, cache = smoke_run
    before = (run_dir / "metrics.jsonl").read_bytes()
    res = run_main("full_run", "--preset", "smoke", "--runs-root", str(root), "--data-root",
                   str(data_root), "--cache-dir", str(cache))
    assert res.returncode == 0 and "completed" in res.stdout
    assert (run_dir / "metrics.jsonl").read_bytes() == before


def test_sample_command(smoke_run):
    run_dir, _, _ = smoke_run
    res = run_main("sample", "--run-dir", str(run_dir), "--prompt", "ROMEO:", "--temperature", "0",
                   "--max-new-tokens", "20")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ROMEO:") == 2          # header + the continued text


def test_prompt_outside_the_char_vocabulary(smoke_run):
    run_dir, _, _ = smoke_run
    res = run_main("sample", "--run-dir", str(run_dir), "--prompt", "héllo €")
    assert res.returncode == 2
    assert res.stderr.startswith("error: prompt 'héllo €'") and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("override, message", [
    ("optim.lrr=1", "unknown config key 'optim.lrr'"),
    ("train.max_iters=abc", "expected int"),
    ("model.n_head=5", "is not divisible by model.n_head 5"),
])
def test_bad_config_is_one_line_and_writes_nothing(tmp_path, override, message):
    res = run_main("full_run", "--preset", "smoke", override, "--runs-root", str(tmp_path / "runs"))
    assert res.returncode == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_missing_data_root(tmp_path):
    res = run_main("full_run", "--preset", "smoke", "--runs-root", str(tmp_path / "runs"),
                   "--data-root", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path / "c"))
    assert res.returncode == 2 and str(tmp_path / "nowhere") in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_via_cli_keeps_the_file(data_root, tmp_path):
    common = ["--preset", "smoke", "--runs-root", str(tmp_path / "runs"), "--data-root",
              str(data_root), "--cache-dir", str(tmp_path / "cache")]
    # a run that stopped midway: only last.pt, no summary
    assert run_main("full_run", *common, "train.max_iters=40").returncode == 0
    (run_dir,) = (tmp_path / "runs" / "full_run").iterdir()
    (run_dir / "summary.json").unlink()
    (run_dir / rundir.LAST).write_bytes(b"PK\x03\x04 truncated")
    res = run_main("full_run", *common, "train.max_iters=40")
    assert res.returncode == 2 and "corrupt or truncated" in res.stderr
    assert (run_dir / rundir.LAST).read_bytes() == b"PK\x03\x04 truncated"


def test_cpu_gpu_comparison_without_gpu(data_root, tmp_path):
    res = run_main("cpu_gpu_comparison", "--preset", "smoke", "--runs-root", str(tmp_path),
                   "--data-root", str(data_root), "--cache-dir", str(tmp_path / "cache"))
    assert res.returncode == 0, res.stderr
    assert "No CUDA GPU visible" in res.stdout and "| cpu |" in res.stdout
    (run_dir,) = (tmp_path / "cpu_gpu_comparison").iterdir()
    result = json.loads((run_dir / "comparison.json").read_text())
    assert [r["device"] for r in result["rows"]] == ["cpu"] and result["rows"][0]["total_s"] > 0
    for name in ("config.json", "env.json", "comparison.md", "summary.json", "cpu/summary.json"):
        assert (run_dir / name).is_file(), name


def test_help_works_for_every_command():
    res = run_main("--help")
    assert res.returncode == 0 and "full_run" in res.stdout
    for cmd in ("full_run", "cpu_gpu_comparison", "sample"):
        res = run_main(cmd, "--help")
        assert res.returncode == 0 and "usage:" in res.stdout, cmd


def test_bench_train_prints_measured_figures():
    res = run_main("bench", "train", "--steps", "2", "--warmup", "1", "--batch-size", "2",
                   "--block-size", "16", "--device", "cpu")
    assert res.returncode == 0, res.stderr
    figures = json.loads(res.stdout)
    assert figures["ms_per_step"] > 0 and figures["tokens_per_s"] > 0
    assert figures["device"] == "cpu" and figures["mfu_pct"] is None   # no peak table for CPUs


def test_init_from_flag_is_the_absolute_override(tmp_path):
    res = run_main("finetune", "--preset", "smoke", "--init-from", "some/run", "--print-config", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["init_from"] == str(tmp_path / "some" / "run")


def test_a_run_that_fails_on_its_data_leaves_no_run_dir(data_root, tmp_path):
    res = run_main("full_run", "--preset", "smoke", "data.dataset=wikitext2", "data.tokenizer=word",
                   "--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
                   "--cache-dir", str(tmp_path / "cache"))
    assert res.returncode == 2 and "data.train_split=valid" in res.stderr
    assert not (tmp_path / "runs").exists()
