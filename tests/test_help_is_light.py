"""`main.py --help`, a command's `--help` and argument errors are instant: they import no torch,
pandas or matplotlib (seconds each on a loaded machine), and print what the full parser prints."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import jobs
import main
from jobs import JOBS
from jobs.job_info import imported_job_info, job_info, read_job_info

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "matplotlib", "submitit")
# runs main.py as `python main.py ARGS` does, then reports its exit code and the heavy modules loaded
PROBE = """
import json, runpy, sys
sys.argv = ["main.py", *sys.argv[1:]]
try:
    runpy.run_path("main.py", run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
print("PROBE" + json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def _probe(*args: str) -> tuple[dict, str, str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    head, _, tail = res.stdout.rpartition("PROBE")
    return json.loads(tail), head, res.stderr


def _full_help(*command: str) -> str:
    """The help the parser built in full (every job and tool imported, as main.py did before)."""
    parser = main.build_parser()
    if command:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[command[0]]
    return parser.format_help()


@pytest.mark.parametrize("command", [(), ("full_run",), ("evaluate",), ("pretrain_finetune",),
                                     ("status",), ("report",), ("sweep",)])
def test_help_imports_nothing_heavy_and_prints_the_full_help(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")          # argparse wraps to the terminal: same width both ways
    result, out, err = _probe(*command, "--help")
    assert result == {"code": 0, "heavy": []}, err[-2000:]
    assert out == _full_help(*command)


@pytest.mark.parametrize("args, message", [
    (("full_run", "--preset", "nope"), "invalid choice: 'nope'"),
    (("nope",), "invalid choice: 'nope'"),
    ((), "the following arguments are required: command"),
    (("full_run", "--executor", "ssh"), "invalid choice: 'ssh'"),
])
def test_argument_errors_import_nothing_heavy(args, message):
    result, _, err = _probe(*args)
    assert result == {"code": 2, "heavy": []} and message in err, err[-2000:]


@pytest.mark.parametrize("name", list(JOBS))
def test_the_source_read_help_equals_the_imported_modules(name):
    assert read_job_info(name) == imported_job_info(name)


def test_a_job_whose_presets_are_not_literals_is_imported_instead(tmp_path, monkeypatch):
    (tmp_path / "computed_job.py").write_text(
        '"""computed_job: presets built by a comprehension."""\n'
        'from gpt.config import RunConfig\n'
        'PRESETS = {name: RunConfig for name in ("default", "wide")}\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(jobs.JOBS, "computed_job", "computed_job")
    assert read_job_info("computed_job") is None
    info = job_info("computed_job")
    assert (info.doc, info.presets, info.takes_init_from) == (
        "computed_job: presets built by a comprehension.", ("default", "wide"), True)


def test_an_unknown_job_is_refused_by_name():
    with pytest.raises(KeyError, match="unknown job 'nope'; jobs: full_run"):
        read_job_info("nope")
