"""The torch-free run-dir checks (gpt/rundir_checks.py), the lock's staleness proofs with real
processes (gpt/runlock.py), writes under a real file-size limit and the atomic writer (gpt/rundir.py)."""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from gpt import rundir
from gpt.rundir_checks import RunFileError, check_eval_result, check_summary, valid_metrics_row
from gpt.runlock import LOCK, RunLock, RunLockError, boot_id, started

REPO = Path(__file__).resolve().parents[1]


def test_summary_figures_of_the_wrong_type_or_range_are_refused_naming_the_key(tmp_path):
    good = {"status": "completed", "steps": 3, "best_step": 3, "best_val_loss": 2.5, "epochs": 0.1,
            "best_val_accuracy": None, "test_accuracy": 0.5, "name": "x"}
    assert check_summary(good, tmp_path / "summary.json") is good
    for key, value in (("steps", True), ("steps", 2.0), ("best_val_loss", float("nan")),
                       ("test_accuracy", 1.5), ("epochs", "x"), ("best_step", 9), ("status", None)):
        with pytest.raises(RunFileError, match=f"summary.json: {key}=") as info:
            check_summary({**good, key: value}, tmp_path / "summary.json")
        assert "\n" not in str(info.value)


def test_metrics_rows_of_other_types_are_not_read_back(tmp_path):
    path = tmp_path / rundir.METRICS
    rows = [{"kind": "val", "step": 3, "loss": 2.0}, {"kind": "val", "step": "3", "loss": 1.0},
            {"kind": "val", "step": 4, "loss": "low"}, {"kind": 7, "step": 5}, {"kind": "train", "step": -1},
            {"kind": "start", "step": 0, "max_iters": 3.5}, {"kind": "val", "step": 6, "loss": None}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "val", "step": 9, "lo')
    assert rundir.read_metrics(path) == [rows[0], rows[-1]]
    assert not valid_metrics_row({"kind": "val", "step": True})


def test_a_crafted_eval_record_is_refused_and_a_real_one_read(tmp_path):
    path = tmp_path / "eval" / "birth_dev.json"
    real = {"correct": 3, "total": 8, "accuracy": 37.5, "skipped": 0, "questions": 8}
    assert check_eval_result(real, path) is real
    for bad in ({"accuracy": 99.0}, {"correct": 9}, {"total": -1}, {"accuracy": float("nan")}):
        with pytest.raises(RunFileError, match="birth_dev.json: .*delete it: it is scored again"):
            check_eval_result({**real, **bad}, path)


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _lock(run: Path, **holder) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / LOCK).write_text(json.dumps({"host": os.uname().nodename, "job_id": "", "restart": 0,
                                        "boot_id": boot_id(), **holder}))


def test_a_live_pid_with_its_own_start_time_holds_the_lock(tmp_path, sleeper):
    _lock(tmp_path, pid=sleeper.pid, started=started(sleeper.pid))
    with pytest.raises(RunLockError, match=rf"in use by pid {sleeper.pid} .*\(running: sleep 60\)"):
        RunLock(tmp_path).acquire()


def test_a_reused_pid_or_a_lock_from_before_a_reboot_is_taken_over(tmp_path, sleeper):
    for holder in ({"pid": sleeper.pid, "started": started(sleeper.pid) - 1},       # pid reused
                   {"pid": sleeper.pid, "boot_id": "an-earlier-boot"}):             # rebooted since
        _lock(tmp_path, **holder)
        with RunLock(tmp_path):
            assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
        assert not (tmp_path / LOCK).exists()


def test_a_lock_this_toolkit_did_not_write_is_refused_not_taken_over(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_RESTART_COUNT", "not-a-number")     # a garbled environment: no crash
    for text in ("", "[]", '{"pid": "abc", "host": "h"}', '{"pid": 1, "host": "h", "restart": -2}'):
        (tmp_path / LOCK).write_text(text)
        with pytest.raises(RunLockError, match=r"\.lock: not a lock this toolkit writes"):
            RunLock(tmp_path).acquire()
        assert (tmp_path / LOCK).read_text() == text


WRITE = """
import sys
from gpt import rundir
rundir.append_jsonl(sys.argv[1] + "/metrics.jsonl", {"kind": "val", "step": 1, "pad": "x" * 5000})
"""
ATOMIC = """
import sys
from gpt import rundir
rundir.write_json(sys.argv[1] + "/summary.json", {"pad": "x" * 5000})
"""


@pytest.mark.parametrize("script", [WRITE, ATOMIC], ids=["append_jsonl", "write_atomic"])
def test_a_write_past_the_file_size_limit_leaves_the_old_file_and_no_half_file(tmp_path, script):
    (tmp_path / "metrics.jsonl").write_text('{"kind": "start", "step": 0}\n')
    (tmp_path / "summary.json").write_text('{"old": 1}\n')
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048)))
    assert res.returncode != 0 and "File too large" in res.stderr
    assert str(tmp_path) in res.stderr.splitlines()[-1]      # the error names the file
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_atomic_writer_leaves_the_old_file_on_an_error_and_the_umask_mode_on_success(tmp_path):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="drawing failed"):
        with rundir.atomic_file(path, fsync=False) as f:
            f.write(b"half")
            assert Path(f.name).parent == tmp_path and Path(f.name).name.startswith(".fig.png.")
            raise ValueError("drawing failed")
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
    with rundir.atomic_file(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == rundir.umask_mode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]
