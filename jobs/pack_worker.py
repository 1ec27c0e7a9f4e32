"""Forwarding shim, removed in the next release: `python -m jobs.pack_worker TASKS_JSON` as packed
Slurm scripts rendered before the launcher moved to jobs/launcher/ run it (jobs still queued then).
New scripts run `python -m jobs.launcher.pack_worker`, which does the work (its points too)."""
import sys

from jobs.launcher.pack_worker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
