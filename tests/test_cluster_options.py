"""Launcher options for the cluster: extra sbatch options (--sbatch-opt) in the rendered header,
and a --time-min too short for the USR2 warning refused; every bad value in one line, nothing written."""
from __future__ import annotations

import pytest

import main

DRY = ["full_run", "--preset", "smoke", "--executor", "slurm", "--dry-run", "--allow-local-runs-root",
       "--cpus", "1", "--mem-gb", "2"]


def _dry(tmp_path, capsys, *flags: str) -> tuple[int, str, str]:
    code = main.main([*DRY, *flags, "--runs-root", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    return code, out, err


def test_sbatch_options_are_written_quoted_into_the_header(tmp_path, capsys):
    code, out, err = _dry(tmp_path, capsys, "--sbatch-opt=--mail-type=END,FAIL", "--sbatch-opt=--mail-user=me@uni.edu",
                          "--sbatch-opt=--comment=a b; rm -rf ~", "--sbatch-opt=--exclusive")
    assert code == 0, err
    header = [line for line in out.splitlines() if line.startswith("#SBATCH")]
    for line in ("#SBATCH --mail-type=END,FAIL", "#SBATCH --mail-user=me@uni.edu",
                 "#SBATCH --comment='a b; rm -rf ~'", "#SBATCH --exclusive"):
        assert line in header, out
    assert "--mail-type=END,FAIL --mail-user=me@uni.edu" in err     # the resources line names them
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flags, message", [
    (["--sbatch-opt=-J"], "give one long sbatch option, --name or --name=value"),
    (["--sbatch-opt=mail-type=END"], "give one long sbatch option"),
    (["--sbatch-opt=--mail-type="], "give one long sbatch option"),
    (["--sbatch-opt=--comment=a\nb"], "give one long sbatch option"),
    (["--sbatch-opt=--time=5"], "the launcher sets --time itself; use --time-min"),
    (["--sbatch-opt=--output=/x"], "the launcher sets --output itself"),
    (["--sbatch-opt=--gres=gpu:2"], "use --gpus"),
    (["--time-min", "2"], "--time-min 2 leaves no time to train"),
    (["--time-min", "1"], "ask for more than 2 min or lower $TOOLKIT_SIGNAL_DELAY_S"),
])
def test_bad_cluster_options_are_one_line_errors(flags, message, tmp_path, capsys):
    code, out, err = _dry(tmp_path, capsys, *flags)
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert "#SBATCH" not in out and not (tmp_path / "runs").exists()


def test_sbatch_options_need_the_slurm_executor(tmp_path, capsys):
    code = main.main(["full_run", "--preset", "smoke", "--sbatch-opt=--mail-type=END",
                      "--runs-root", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "--sbatch-opt goes with --executor slurm" in err and not (tmp_path / "runs").exists()


def test_a_shorter_signal_delay_makes_a_short_time_limit_fine(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOOLKIT_SIGNAL_DELAY_S", "60")
    code, out, err = _dry(tmp_path, capsys, "--time-min", "2")
    assert code == 0, err
    assert "#SBATCH --time=2" in out and "#SBATCH --signal=USR2@60" in out
