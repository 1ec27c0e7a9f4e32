"""Forwarding shim, removed in the next release: `python -m jobs.worker TASKS_JSON` as Slurm
scripts rendered before the launcher moved to jobs/launcher/ run it (jobs still queued then).
New scripts run `python -m jobs.launcher.worker`, which does the work."""
import sys

from jobs.launcher.worker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
