"""The launch request: where and how to run a list of tasks, typed and built once from the flags.

    request = from_args(args)          # argparse Namespace of a job subcommand, `sweep` or `reproduce`
    dispatch(tasks, ctx, request)      # jobs/launcher/launch.py: inline, local or Slurm

The executor and resource flags are added to every job subcommand (and `sweep`, `reproduce`) by
`add_arguments`; nothing past `from_args` reads the Namespace. Combinations that cannot work
(`--dry-run` without Slurm, `--parallel 0`) are refused here, before any run dir is touched.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from jobs.errors import LaunchError
from jobs.launcher.pack import check_flags as check_pack_flags
from jobs.launcher.sbatch import flag_types

EXECUTORS = ("inline", "local", "slurm")
RESOURCE_HELP = {"time_min": "slurm/local: the job's time limit in minutes; USR2 comes "
                              "$TOOLKIT_SIGNAL_DELAY_S (default 120) s before it (save and requeue), so "
                              "it must be longer than that"}
RESOURCE_FLAGS = flag_types()      # {field: type}: one --flag per flagged field of sbatch.Resources


@dataclass(frozen=True, kw_only=True)
class LaunchRequest:
    """Everything the launcher needs from the command line besides the tasks and their context."""
    executor: str = "inline"              # one of EXECUTORS
    wait: bool = False                    # slurm: block until the jobs end
    dry_run: bool = False                 # slurm: print the sbatch script(s), submit nothing
    print_run_dir: bool = False           # print the run dir(s), run nothing
    allow_local_runs_root: bool = False   # slurm: accept /tmp & co. (single-node clusters)
    profile: str | None = None            # a named cluster profile (None: $TOOLKIT_PROFILE)
    resources: dict = field(default_factory=dict)   # resource flags given: {field: value}
    parallel: int | None = None           # most runs at once (slurm: the array's %N; local: 1)
    task_index: int | None = None         # run only this task, inline (a template's array task)
    pack: int | None = None               # slurm: runs per array task (jobs/launcher/pack.py)
    pack_mode: str = "auto"               # how a packed task runs them: jobs.launcher.pack.MODES

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise LaunchError(f"--executor {self.executor!r}; choose one of: {', '.join(EXECUTORS)}")
        if self.executor != "slurm" and (self.dry_run or self.wait):
            raise LaunchError("--dry-run and --wait go with --executor slurm (local always waits)")
        if self.executor != "slurm" and "sbatch_options" in self.resources:
            raise LaunchError("--sbatch-opt goes with --executor slurm (it adds a line to the sbatch script)")
        if self.parallel is not None and self.parallel < 1:
            raise LaunchError(f"--parallel {self.parallel} must be at least 1")
        check_pack_flags(self.pack, self.pack_mode, self.executor, self.task_index)
        unknown = sorted(set(self.resources) - set(RESOURCE_FLAGS) - {"sbatch_options"})
        if unknown:
            raise LaunchError(f"unknown resource(s) {', '.join(unknown)}; valid: {', '.join(RESOURCE_FLAGS)}")

    def selected(self, tasks: list, what: str) -> list:
        """The tasks to run: all, or the one --task-index names (LaunchError if `what`, e.g.
        "sweep smoke", has no such run)."""
        if self.task_index is None:
            return tasks
        if not 0 <= self.task_index < len(tasks):
            raise LaunchError(f"--task-index {self.task_index} out of range: {what} has "
                              f"runs 0..{len(tasks) - 1} (use --array=0-{len(tasks) - 1})")
        return [tasks[self.task_index]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Executor and resource flags shared by every job subcommand (and `sweep`, `reproduce`)."""
    g = parser.add_argument_group("where to run (defaults: $TOOLKIT_<FLAG>, then the cluster "
                                  "profile $TOOLKIT_CLUSTER_PROFILE or ~/.config/slm-toolkit/cluster.json)")
    g.add_argument("--executor", choices=EXECUTORS, default="inline",
                   help="inline: this process; local: submitit subprocess (waits); slurm: submit and return "
                        "(pretrain_finetune: one job per stage, chained with afterok)")
    g.add_argument("--wait", action="store_true", help="slurm: block until the jobs end")
    g.add_argument("--dry-run", action="store_true",
                   help="slurm: print the sbatch script (a chained job: one per stage), submit nothing")
    g.add_argument("--allow-local-runs-root", action="store_true",
                   help="slurm: accept a runs root/cache under /tmp, /dev/shm... (single-node clusters)")
    g.add_argument("--print-run-dir", action="store_true", help="print the run dir(s) and exit")
    g.add_argument("--profile", default=None, metavar="NAME",
                   help='resources from "profiles": {NAME: {...}} of the cluster profile file '
                        "(default: $TOOLKIT_PROFILE); flags still win")
    for flag, typ in RESOURCE_FLAGS.items():
        g.add_argument(f"--{flag.replace('_', '-')}", type=typ, default=None, dest=flag, help=RESOURCE_HELP.get(flag))
    g.add_argument("--sbatch-opt", action="append", default=None, dest="sbatch_options", metavar="OPTION",
                   help="slurm: one more sbatch option for the job's header, repeatable, written "
                        "--sbatch-opt=--mail-type=END --sbatch-opt=--mail-user=me@uni.edu (shown by "
                        "--dry-run; the options the flags above set are refused)")


def from_args(args: argparse.Namespace) -> LaunchRequest:
    """The request the flags of `add_arguments` (and a sweep's --parallel/--task-index) describe."""
    return LaunchRequest(executor=args.executor, wait=args.wait, dry_run=args.dry_run,
                         print_run_dir=args.print_run_dir, allow_local_runs_root=args.allow_local_runs_root,
                         profile=args.profile,
                         resources={**{k: getattr(args, k) for k in RESOURCE_FLAGS if getattr(args, k) is not None},
                                    **({"sbatch_options": tuple(args.sbatch_options)} if args.sbatch_options else {})},
                         parallel=getattr(args, "parallel", None), task_index=getattr(args, "task_index", None),
                         pack=getattr(args, "pack", None), pack_mode=getattr(args, "pack_mode", "auto"))
