"""Issue 9 regressions at toy scale: sbatch quoting, cache checksums, umask, overrides anywhere,
`~` expansion, report --out safety. (One-line errors: tests/test_hostile_inputs.py.)"""
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data
from gpt.config import DataConfig
from jobs.launcher.sbatch import Resources, SbatchSpec, render

REPO = Path(__file__).resolve().parents[1]


def _main(*args, env=None, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_sbatch_script_quotes_every_path_so_bash_reads_them_back(tmp_path):
    folder = tmp_path / "a b; $(touch pwned) `id`" / "slurm"
    text = render(SbatchSpec(job_name="full_run.smoke", folder=folder, setup=("echo setup",),
                             command=("python", "-m", "jobs.launcher.worker", str(folder / "tasks.json"))),
                  Resources(time_min=5, cpus=1, mem_gb=2, signal_delay_s=60))
    srun = text.splitlines()[-1]
    assert shlex.split(srun)[-1] == str(folder / "tasks.json")            # one word, verbatim
    assert f"#SBATCH --output={shlex.quote(str(folder) + '/%j_log.out')}" in text
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    assert not (tmp_path / "pwned").exists()


def test_dry_run_prints_quoted_paths_for_a_runs_root_with_a_space(tmp_path):
    runs = tmp_path / "my runs"
    res = _main("full_run", "--preset", "smoke", "--executor", "slurm", "--dry-run", "--allow-local-runs-root",
                "--runs-root", str(runs), "--cache-dir", str(tmp_path / "c"))
    assert res.returncode == 0, res.stderr
    [srun] = [line for line in res.stdout.splitlines() if line.startswith("srun ")]
    assert shlex.split(srun)[-1].startswith(str(runs / "full_run"))
    assert not runs.exists()


@pytest.mark.parametrize("damage", ["zeroed", "truncated", "missing"])
def test_damaged_cache_is_detected_and_rebuilt(tmp_path, data_root, damage, capsys):
    cfg = DataConfig()
    folder, cached = data.prepare(cfg, data_root, tmp_path)
    good = np.load(folder / "train.npy").copy()
    path = folder / "train.npy"
    if damage == "zeroed":          # same size, garbage content: only the checksum sees it
        raw = bytearray(path.read_bytes())
        raw[200:4000] = bytes(3800)
        path.write_bytes(bytes(raw))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        path.unlink()
    again, cached = data.prepare(cfg, data_root, tmp_path)
    assert again == folder and not cached and "is damaged" in capsys.readouterr().err
    assert np.array_equal(np.load(again / "train.npy"), good)
    assert data.prepare(cfg, data_root, tmp_path)[1]                   # and trusted again after
    assert json.loads((folder / "meta.json").read_text())["checksums"]["train.npy"]["bytes"] > 0


@pytest.mark.parametrize("umask, mode", [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_run_files_follow_the_umask(tmp_path, umask, mode):
    code = ("import os, sys; os.umask(int(sys.argv[1])); from gpt import rundir; "
            "rundir.write_json(sys.argv[2], {'a': 1})")
    subprocess.run([sys.executable, "-c", code, str(umask), str(tmp_path / "x.json")], cwd=REPO, check=True)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == mode


def test_overrides_anywhere_on_the_line():
    res = _main("full_run", "train.max_iters=5", "--preset", "smoke", "model.n_layer=2", "--print-config")
    assert res.returncode == 0, res.stderr
    cfg = json.loads(res.stdout)
    assert (cfg["train"]["max_iters"], cfg["model"]["n_layer"], cfg["name"]) == (5, 2, "smoke")
    res = _main("status", "runs", "model.n_layer=2")             # not a job: still refused
    assert res.returncode == 2 and "unrecognized arguments" in res.stderr


def test_tilde_is_expanded_in_roots(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    res = _main("full_run", "--preset", "smoke", "--runs-root=~/x", "--print-run-dir", env={"HOME": str(home)},
                cwd=tmp_path)
    assert res.stdout.startswith(str(home / "x" / "full_run")), res.stdout + res.stderr
    res = _main("full_run", "--preset", "smoke", "--print-run-dir", env={"HOME": str(home), "RUNS_ROOT": "~/y"},
                cwd=tmp_path)
    assert res.stdout.startswith(str(home / "y" / "full_run")), res.stdout + res.stderr
    code = "import data; print(data.default_cache_dir())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "HOME": str(home), "DATA_CACHE": "~/c"}).stdout.strip()
    assert out == str(home / "c") and not (tmp_path / "~").exists()


def test_report_keeps_a_manifest_and_never_overwrites_other_files(tmp_path):
    from reports.state import OutDirError, ReportState, check_out_dir
    out = tmp_path / "report"
    check_out_dir(out, [tmp_path / "runs"])                           # new folder: fine
    state = ReportState(out)
    state.write_text(out / "index.md", "one\n")
    state.save()
    (out / "summary.csv").write_text("mine\n")                        # the user's own file
    state = ReportState(out)
    state.write_text(out / "index.md", "two\n")                       # ours: rewritten
    with pytest.raises(OutDirError, match="not written by a report"):
        state.write_text(out / "summary.csv", "report's\n")
    assert (out / "summary.csv").read_text() == "mine\n"
    with pytest.raises(OutDirError, match="inside the input"):
        check_out_dir(tmp_path / "runs" / "r", [tmp_path / "runs"])
