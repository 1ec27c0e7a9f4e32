"""Thin entry point: parse, build the config, hand it to a job, print where results went.

    python main.py full_run --preset smoke                  # train + plots + samples, < 1 min CPU
    python main.py full_run --preset smoke optim.lr=3e-4 --runs-root /shared/me/runs
    python main.py sample --run-dir runs/full_run/smoke-XXXXXXXX --prompt "ROMEO:"
    python main.py <command> --help

Config overrides are dotted key=value pairs (`model.n_layer=4`, `model=gpt-micro`,
`optim.betas=0.9,0.99`), anywhere after the command; unknown keys fail and list the valid ones.
A mistake (bad value, missing file, unwritable folder) prints one `error: ...` line and exits 2;
`--debug` (or TOOLKIT_DEBUG=1) shows its traceback too.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Collection

from gpt.config import preset_name
from gpt.overrides import apply_overrides, to_dict
from jobs import JOBS, job_module
from jobs.context import add_path_arguments
from jobs.job_info import job_info

# subcommands that are not training jobs: name -> (module, help)
TOOLS = {
    "sample": ("jobs.tools.sample", "sample text from a trained run dir"),
    "sweep": ("jobs.tools.sweep_cli", "run or submit a named sweep (one Slurm job array)"),
    "status": ("jobs.tools.status", "one row per run: Slurm state, step, val loss, attempts"),
    "report": ("reports.cli", "figures and tables from run dirs (no torch needed)"),
    "bench": ("jobs.tools.bench", "speed and memory benchmarks that print figures"),
    "attention_rank": ("jobs.tools.attention_rank", "val loss with rank-k SVD attention maps; effective ranks"),
    "eval_lengths": ("jobs.tools.eval_lengths", "val loss of a finished run at shorter and longer contexts"),
    "attention_demo": ("jobs.tools.attention_demo", "hand-set q/k/v through the real attention: select one, average two"),
    "eval_causal": ("jobs.tools.eval_causal", "leak-free val loss (each position from its prefix only) and a future-leak probe"),
    "logit_bias": ("jobs.tools.logit_bias", "recover a run's next-token distribution from a top-2 logit-bias API"),
    "reproduce": ("jobs.tools.reproduce", "run a course's headline experiment, table ours vs its reference"),
}


def _job_parser(sub, job: str) -> None:
    info = job_info(job)              # read from the job's source: building help imports no torch
    doc = info.doc.strip()
    p = sub.add_parser(job, help=doc.splitlines()[0] if doc else job, description=doc,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. optim.lr=3e-4")
    p.add_argument("--preset", default="default", choices=sorted(info.presets),
                   type=lambda name: preset_name(name, info.presets),
                   help="starting config (default: %(default)s; `-` and `_` are the same)")
    add_path_arguments(p)
    # a job without init_from (evaluate: run_dir=) still takes the flag, to say the key it has instead
    p.add_argument("--init-from", type=Path, default=None, metavar="RUN_DIR",
                   help="start from the best weights of this finished run (same as init_from=RUN_DIR)"
                   if info.takes_init_from else argparse.SUPPRESS)
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    from jobs.launcher.request import add_arguments
    add_arguments(p)
    p.set_defaults(handler=_run_job, job=job)


def build_parser(full: Collection[str | None] | None = None) -> argparse.ArgumentParser:
    """The `main.py` parser: one subcommand per job (with presets, overrides, executor flags) and per tool.

    `full` names the subcommands built in full (default: all); the others get only their one-line
    help, so `main.py --help` imports no tool module (some import torch: seconds) and a command's
    own parse imports only its own module."""
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of errors too (anywhere on the line; or TOOLKIT_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    for job in JOBS:
        if full is None or job in full:
            _job_parser(sub, job)
        else:
            doc = job_info(job).doc.strip()
            sub.add_parser(job, help=doc.splitlines()[0] if doc else job)
    for name, (module_name, help_text) in TOOLS.items():
        if full is not None and name not in full:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(handler=module.main)
    return parser


def _run_job(args: argparse.Namespace) -> int:
    from jobs.context import context_from_args
    from jobs.launcher.launch import dispatch
    from jobs.launcher.request import from_args
    from jobs.launcher.tasks import make_tasks
    module = job_module(args.job)
    end_startup()                      # torch and the job's modules are in
    overrides = list(args.overrides)
    if args.init_from is not None:   # absolute, so the run dir hash does not depend on the cwd
        overrides.append(f"init_from={args.init_from.expanduser().resolve()}")
    cfg = apply_overrides(module.PRESETS[args.preset](), overrides)
    request = from_args(args)          # refuses impossible flag combinations before anything else
    if args.print_config:
        print(json.dumps(to_dict(cfg), indent=2))
        return 0
    ctx = context_from_args(args)
    return dispatch(make_tasks(args.job, [cfg], ctx.runs_root), ctx, request).exit_code


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse argv; key=value overrides of a job may come anywhere, also after options."""
    # main.py's only own option is --debug (taken out before): the first word is the command
    parser = build_parser(full={next((a for a in argv if not a.startswith("-")), None)})
    args, extra = parser.parse_known_args(argv)
    overrides = [a for a in extra if "=" in a and not a.startswith("-")]
    unknown = [a for a in extra if a not in overrides]
    if unknown or (overrides and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or overrides)}")
    if overrides:
        args.overrides = [*args.overrides, *overrides]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one command; expected errors print `error: ...` and return 2 (--debug: traceback)."""
    from jobs.errors import report_error
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in argv:            # anywhere on the line: also show tracebacks of expected errors
        argv.remove("--debug")
        os.environ["TOOLKIT_DEBUG"] = "1"
    args = parse(argv)
    if args.handler is not _run_job:   # a job ends start-up once its modules are in
        end_startup()
    try:
        return args.handler(args)
    except (Exception, KeyboardInterrupt) as exc:
        code = report_error(exc)
        if code is None:
            raise
        return code


def end_startup() -> None:
    """Collect garbage again after start-up, when the entry point turned the collector off for it.

    Importing torch makes about 270,000 objects, and the full collections that the imports set off
    re-scan all of them: 0.5-0.6 s of CPU of a short CPU job (measured). They live until the process
    ends, so they are frozen (gc.freeze: later collections skip them) and the collector goes back on
    for the job itself. A no-op when the collector is on (main() called in-process, e.g. by tests).
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


if __name__ == "__main__":
    gc.disable()   # until the job's modules (and torch) are imported: end_startup()
    code = main()
    # Interpreter teardown collects torch's objects one last time: 0.5-0.9 s of CPU (measured).
    # Freezing them skips that scan; atexit handlers and log flushes still run, and every file the
    # job wrote is closed by now.
    gc.freeze()
    sys.exit(code)
