"""The sbatch script of a launcher submission, rendered here (as lingua's stool does), no submitit.

    text = render(SbatchSpec(job_name="full_run.smoke", folder=Path("runs/x/slurm"), ...))

The text is a pure function of the spec: `--dry-run` prints it, a submission writes the same text
to `<folder>/<script_name(text)>` and runs `sbatch` on that file, so what was printed is what ran.
Every path and user value in the script is shell-quoted (names are also restricted to a safe
character set in gpt.config), so a run dir with a space, `;` or `$( )` cannot change the command.
"""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from jobs.errors import LaunchError


@dataclass(frozen=True, kw_only=True)
class SbatchSpec:
    """Everything the script says: header options, shell setup lines and the one command."""
    job_name: str
    folder: Path                  # logs go to <folder>/<job id>_log.out (must exist)
    command: tuple[str, ...]      # argv of the job step (quoted here)
    time_min: int
    cpus: int
    mem_mb: int
    signal_delay_s: int           # USR2 this long before the time limit: save and requeue
    gpus: int = 0
    partition: str = ""
    account: str = ""
    qos: str = ""
    constraint: str = ""
    n_tasks: int = 1              # > 1: a job array, one task per index
    nodes: int = 1                # data parallel: srun starts nodes x tasks_per_node ranks
    tasks_per_node: int = 1       # (gpt.distributed reads their SLURM_* variables)
    parallel: int | None = None   # array: at most this many at once
    setup: tuple[str, ...] = ()   # shell lines before the command (module load ..., exports)
    extra: tuple[tuple[str, str | None], ...] = ()   # more options: (name, value or None for a bare flag)


# sbatch options the launcher writes itself: the flag (or nothing) that sets each instead
MANAGED_OPTIONS = {"job-name": "", "output": "", "error": "", "open-mode": "", "array": "--parallel",
                   "signal": "$TOOLKIT_SIGNAL_DELAY_S", "requeue": "", "no-requeue": "", "wrap": "",
                   "dependency": "", "parsable": "", "time": "--time-min", "partition": "--partition",
                   "account": "--account", "qos": "--qos", "constraint": "--constraint",
                   "cpus-per-task": "--cpus", "mem": "--mem-gb", "mem-per-cpu": "--mem-gb",
                   "gpus-per-node": "--gpus", "gpus": "--gpus", "gres": "--gpus", "nodes": "--nodes",
                   "ntasks": "--tasks-per-node", "ntasks-per-node": "--tasks-per-node"}
_OPTION = re.compile(r"--([a-z][a-z0-9-]*)(?:=([^\n\r\0]+))?")


def check_sbatch_option(option: str) -> tuple[str, str | None]:
    """(name, value or None) of one --sbatch-opt like `--mail-type=END`; LaunchError for a short
    or malformed option or one the launcher sets itself (naming the flag to use instead)."""
    match = _OPTION.fullmatch(option) if isinstance(option, str) else None
    if match is None:
        raise LaunchError(f"--sbatch-opt {str(option)[:60]!r}: give one long sbatch option, "
                          f"--name or --name=value (e.g. --sbatch-opt=--mail-type=END)")
    name, value = match.groups()
    if name in MANAGED_OPTIONS:
        instead = MANAGED_OPTIONS[name]
        raise LaunchError(f"--sbatch-opt --{name}: the launcher sets --{name} itself"
                          + (f"; use {instead}" if instead else ""))
    return name, value


def _option(name: str, value) -> str:
    # sbatch reads `#SBATCH` lines itself (no shell), but a quoted value is still one word there
    return f"#SBATCH --{name}={shlex.quote(str(value))}"


def render(spec: SbatchSpec) -> str:
    """The full script text: #SBATCH header, setup, then `srun` of the command."""
    log = "%A_%a_log.out" if spec.n_tasks > 1 else "%j_log.out"   # Slurm creates no folders
    options = [("job-name", spec.job_name), ("output", f"{spec.folder}/{log}"),
               ("open-mode", "append"), ("nodes", spec.nodes),
               ("ntasks-per-node", spec.tasks_per_node),
               ("cpus-per-task", spec.cpus), ("mem", f"{spec.mem_mb}M"), ("time", spec.time_min),
               # to the job step (srun), which saves and requeues; scancel's SIGTERM only saves
               ("signal", f"USR2@{spec.signal_delay_s}")]
    optional = {"partition": spec.partition, "account": spec.account, "qos": spec.qos,
                "constraint": spec.constraint, "gpus-per-node": spec.gpus}
    options += [(k, v) for k, v in optional.items() if v]
    if spec.n_tasks > 1:
        limit = f"%{spec.parallel}" if spec.parallel else ""
        options.append(("array", f"0-{spec.n_tasks - 1}{limit}"))
    header = [_option(k, v) for k, v in options] + [_option(k, v) if v is not None else f"#SBATCH --{k}"
                                                    for k, v in spec.extra]
    lines = ["#!/bin/bash", *header, "#SBATCH --requeue",
             "set -eo pipefail", *spec.setup,
             "srun --unbuffered " + " ".join(shlex.quote(a) for a in spec.command)]
    return "\n".join(lines) + "\n"


def script_name(text: str) -> str:
    """File name of a rendered script inside its folder: the same text, the same file."""
    return f"submission-{hashlib.sha256(text.encode()).hexdigest()[:12]}.sh"
