"""Command line: `python -m reports [RUNS_ROOT|SWEEP_INDEX|RUN_DIR ...] --out DIR`.

    python -m reports runs/ --out report/                # every run under runs/
    python -m reports runs/sweeps/lstm_vs_gpt/index.json --out report/b

main.py plugs the same options in as `python main.py report ...` via add_arguments and main.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpt.rundir import runs_root

DESCRIPTION = ("Figures and tables (Markdown, HTML, LaTeX, CSV) from run dirs; unchanged outputs "
               "are reused, so rerunning after more jobs finish is cheap.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the report's arguments (inputs, --out) to `parser`."""
    parser.add_argument("inputs", nargs="*", type=Path, metavar="RUNS_ROOT|SWEEP_INDEX|RUN_DIR",
                        help="runs roots, sweep index.json files or run dirs "
                             "(default: $RUNS_ROOT, else ./runs)")
    parser.add_argument("--out", type=Path, default=Path("report"),
                        help="folder for index.md, index.html, tables and figures (default: report)")


def main(args: argparse.Namespace) -> int:
    """Build the report for parsed `args`; 0 on success, 2 if no input exists."""
    from reports.build import build_report  # pandas and matplotlib load only when a report is made
    from reports.state import OutDirError, check_out_dir

    inputs = [Path(p).expanduser() for p in args.inputs] or [runs_root(None)]
    if not any(Path(p).exists() for p in inputs):
        print(f"error: none of {', '.join(map(str, inputs))} exists; pass a runs root, a sweep "
              "index.json or a run dir", file=sys.stderr)
        return 2
    try:
        check_out_dir(args.out, inputs)
        build_report(inputs, args.out)
    except OutDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def run_cli(argv: list[str] | None = None) -> int:
    """`python -m reports ...`: parse `argv` and build the report; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m reports", description=DESCRIPTION)
    add_arguments(parser)
    return main(parser.parse_args(argv))
