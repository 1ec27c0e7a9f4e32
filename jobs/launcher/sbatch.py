"""What one Slurm job asks for (`Resources`) and its sbatch script, rendered here (as lingua's
stool does), no submitit.

    text = render(SbatchSpec(job_name="full_run.smoke", folder=Path("runs/x/slurm"), ...), Resources(gpus=1))

A `Resources` field is the one source of a resource: its `--flag` on every job (when the field is
`resource(..., flag=True)`: jobs/launcher/request.py adds them from `flag_types`), its
`$TOOLKIT_<FIELD>` variable (`env_var`) and its cluster-profile key (the field name), read by
jobs/launcher/cluster.py's load_resources. A new `#SBATCH` option is one field here plus one line
in `render` (and its name in MANAGED_OPTIONS, which a test checks).

The text is a pure function of the spec and the resources: `--dry-run` prints it, a submission writes the same text
to `<folder>/<script_name(text)>` and runs `sbatch` on that file, so what was printed is what ran.
Every path and user value in the script is shell-quoted (names are also restricted to a safe
character set in gpt.config), so a run dir with a space, `;` or `$( )` cannot change the command.
"""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path

from jobs.errors import LaunchError


def resource(default, *, flag: bool = True, env: bool = True):
    """A Resources field: set by the `--<field>` flag of every job (flag), by $TOOLKIT_<FIELD>
    (env), and by the profile key of its name (always)."""
    return field(default=default, metadata={"flag": flag, "env": env})


@dataclass(frozen=True, kw_only=True)
class Resources:
    """What one Slurm job asks for; built by load_resources from flags, $TOOLKIT_*, profile, defaults."""
    partition: str = resource("")          # "" = the cluster's default partition
    account: str = resource("")
    qos: str = resource("")
    gpus: int = resource(0)                # per job (one node)
    cpus: int = resource(1)                # per task
    mem_gb: float = resource(4.0)
    time_min: int = resource(60)
    constraint: str = resource("")
    signal_delay_s: int = resource(120, flag=False)   # USR2 this long before the time limit: save and requeue
    nodes: int = resource(1)               # data parallel (gpt.distributed): nodes x tasks_per_node ranks,
    tasks_per_node: int = resource(1)      # one task per GPU (gpus is per node)
    setup: tuple[str, ...] = resource((), flag=False, env=False)   # shell lines before the job (module load ...)
    # more `#SBATCH` lines: "--mail-type=END"; their flag is the repeatable --sbatch-opt (request.py)
    sbatch_options: tuple[str, ...] = resource((), flag=False, env=False)

    def __post_init__(self) -> None:
        for key in ("gpus", "cpus", "mem_gb", "time_min", "signal_delay_s", "nodes", "tasks_per_node"):
            value = getattr(self, key)
            if value < 0 or (value == 0 and key in ("cpus", "mem_gb", "time_min", "nodes", "tasks_per_node")):
                raise LaunchError(f"--{key.replace('_', '-')} {value} must be positive")
        if self.time_min * 60 <= self.signal_delay_s:   # USR2 at the start: requeue after requeue
            raise LaunchError(f"--time-min {self.time_min} leaves no time to train: the job is told to save "
                              f"and requeue {self.signal_delay_s} s before its end ($TOOLKIT_SIGNAL_DELAY_S); "
                              f"ask for more than {self.signal_delay_s // 60} min or lower $TOOLKIT_SIGNAL_DELAY_S")
        for option in self.sbatch_options:
            check_sbatch_option(option)


def flag_types() -> dict[str, type]:
    """{field: type} of the Resources fields that have a `--flag` of their name."""
    return {f.name: type(f.default) for f in fields(Resources) if f.metadata["flag"]}


def env_var(name: str) -> str | None:
    """The environment variable that sets Resources field `name` ($TOOLKIT_<NAME>), or None."""
    return f"TOOLKIT_{name.upper()}" if Resources.__dataclass_fields__[name].metadata["env"] else None


@dataclass(frozen=True, kw_only=True)
class SbatchSpec:
    """What the script says besides the resources: names, array size, setup lines, the one command."""
    job_name: str
    folder: Path                  # logs go to <folder>/<job id>_log.out (must exist)
    command: tuple[str, ...]      # argv of the job step (quoted here)
    n_tasks: int = 1              # > 1: a job array, one task per index
    parallel: int | None = None   # array: at most this many at once
    setup: tuple[str, ...] = ()   # shell lines after Resources.setup, before the command (exports)


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


def render(spec: SbatchSpec, res: Resources) -> str:
    """The full script text: #SBATCH header (the spec's names, then one line per resource), the
    resources' setup lines and the spec's, then `srun` of the command."""
    log = "%A_%a_log.out" if spec.n_tasks > 1 else "%j_log.out"   # Slurm creates no folders
    options = [("job-name", spec.job_name), ("output", f"{spec.folder}/{log}"),
               ("open-mode", "append"), ("nodes", res.nodes),
               ("ntasks-per-node", res.tasks_per_node),
               ("cpus-per-task", res.cpus), ("mem", f"{int(res.mem_gb * 1024)}M"), ("time", res.time_min),
               # to the job step (srun), which saves and requeues; scancel's SIGTERM only saves
               ("signal", f"USR2@{res.signal_delay_s}")]
    optional = {"partition": res.partition, "account": res.account, "qos": res.qos,
                "constraint": res.constraint, "gpus-per-node": res.gpus}
    options += [(k, v) for k, v in optional.items() if v]
    if spec.n_tasks > 1:
        limit = f"%{spec.parallel}" if spec.parallel else ""
        options.append(("array", f"0-{spec.n_tasks - 1}{limit}"))
    extra = [check_sbatch_option(o) for o in res.sbatch_options]
    header = [_option(k, v) for k, v in options] + [_option(k, v) if v is not None else f"#SBATCH --{k}"
                                                    for k, v in extra]
    lines = ["#!/bin/bash", *header, "#SBATCH --requeue",
             "set -eo pipefail", *res.setup, *spec.setup,
             "srun --unbuffered " + " ".join(shlex.quote(a) for a in spec.command)]
    return "\n".join(lines) + "\n"


def script_name(text: str) -> str:
    """File name of a rendered script inside its folder: the same text, the same file."""
    return f"submission-{hashlib.sha256(text.encode()).hexdigest()[:12]}.sh"
