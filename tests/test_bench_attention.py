"""`bench attention`: times the real mixers per length, prints the table, writes JSON + a log-log
plot drawn by reports/ (no torch there); bad flags are one line, exit 2, nothing written."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import main
from reports.attention_cost import cost_figure, loglog_slope

REPO = Path(__file__).resolve().parents[1]


def _bench(*args, cwd):
    return subprocess.run([sys.executable, str(REPO / "main.py"), "bench", "attention", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_slope_tells_quadratic_from_linear():
    lengths = [64, 128, 256, 512]
    assert loglog_slope(lengths, [3.0 * t for t in lengths]) == pytest.approx(1.0)
    assert loglog_slope(lengths, [0.01 * t * t + 0.0 for t in lengths]) == pytest.approx(2.0)
    assert loglog_slope([64], [1.0]) is None


def test_figure_has_one_line_per_variant_plus_guides():
    result = {"lengths": [16, 32, 64], "backward": True, "device": "cpu",
              "variants": {"explicit": {"ms": [1.0, 4.0, 16.0]}, "linear": {"ms": [1.0, 2.0, 4.0]}}}
    ax = cost_figure(result).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["explicit (slope 2.00)", "linear (slope 1.00)", "O(T)", "O(T^2)"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_bench_attention_measures_prints_and_writes(tmp_path):
    out = tmp_path / "cost"
    res = _bench("--lengths", "16,32", "--attention", "explicit,bigbird", "--repeats", "1",
                 "--warmup", "0", "--batch-size", "1", "--n-embd", "16", "--n-head", "2",
                 "--device", "cpu", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "T=16" in res.stdout and "bigbird" in res.stdout and "slope" in res.stdout
    result = json.loads((out / "attention_cost.json").read_text())
    assert result["lengths"] == [16, 32] and result["backward"] is True
    assert set(result["variants"]) == {"explicit", "bigbird"}
    assert all(m > 0 for v in result["variants"].values() for m in v["ms"])
    assert (out / "attention_cost.png").stat().st_size > 1000


@pytest.mark.parametrize("args,words", [
    (["--lengths", "64,abc"], "comma list of integers"),
    (["--lengths", "64"], "at least two increasing"),
    (["--lengths", "128,64"], "at least two increasing"),
    (["--lengths", "1,64"], "between 2 and"),
    (["--lengths", "64,999999"], "between 2 and"),
    (["--attention", "fused,nope"], "unknown variant(s) 'nope'"),
    (["--attention", "fused,"], "unknown variant"),
    (["--n-embd", "30", "--n-head", "4"], "divisible"),
    (["--repeats", "0"], "--repeats=0 must be > 0"),
    (["--batch-size", "100000"], "--batch-size=100000 must be > 0 and <= 1024"),
    (["--warmup", "-1"], "must be >= 0"),
])
def test_bad_flags_are_one_line_and_write_nothing(tmp_path, capsys, args, words):
    code = main.main(["bench", "attention", *args, "--out", str(tmp_path / "cost")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and words in err, err
    assert err.startswith("error:") and len(err.splitlines()) == 1
    assert not (tmp_path / "cost").exists()


def test_a_bad_flag_through_the_real_cli_exits_2(tmp_path):
    res = _bench("--lengths", "64,abc", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("error: bench attention --lengths")
    assert "Traceback" not in res.stderr
