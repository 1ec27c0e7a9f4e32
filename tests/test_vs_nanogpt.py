"""scripts/vs_nanogpt.py: its help, and one line (exit 2) without a prepared nanoGPT checkout.

The comparison itself needs a nanoGPT checkout, which the tests do not have; docs/cpu_speed.md
holds its measured output."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "vs_nanogpt.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_help_explains_the_comparison():
    out = _run("--help")
    assert out.returncode == 0 and "prepare.py" in out.stdout and "sample.py" in out.stdout


def test_a_folder_that_is_not_a_prepared_checkout_is_one_line(tmp_path):
    (tmp_path / "train.py").write_text("")   # a train.py, but no data/shakespeare_char/train.bin
    for args in ([str(tmp_path / "missing")], [str(tmp_path)]):
        out = _run("--nanogpt", *args)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not a nanoGPT checkout" in out.stderr
    (tmp_path / "data" / "shakespeare_char").mkdir(parents=True)
    (tmp_path / "data" / "shakespeare_char" / "train.bin").write_bytes(b"")
    out = _run("--nanogpt", str(tmp_path), "--iters", "100")
    assert out.returncode == 2 and "--iters must be >= 251" in out.stderr
    out = _run("--nanogpt", str(tmp_path), "--threads", "0")
    assert out.returncode == 2 and "--threads 0 must be >= 1" in out.stderr
