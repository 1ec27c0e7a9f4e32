"""The job step of a packed array task: `python -m jobs.launcher.pack_worker TASKS_JSON` (see jobs/launcher/pack.py).

Task $SLURM_ARRAY_TASK_ID runs its K points as child processes
`python -m jobs.launcher.pack_worker TASKS_JSON --point J` (each an inline run with requeue=False) along
the lanes jobs.launcher.pack.plan gives. Their output goes to the array task's log, in turn. A signal
(USR2, SIGTERM, SIGINT) is forwarded to every running child and no new point starts; once every
child has exited, USR2 requeues the array task (`scontrol requeue`), the others end it. Exit code:
0 all points completed (or requeued), 1 some point failed (its `failed` row is in its
slurm/jobs.jsonl), 3 stopped without requeue.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gpt import rundir
from jobs.launcher.cluster import JOBS_LOG
from jobs.launcher.pack import Lane, plan, shared_memory, task_points, visible_gpus
from jobs.launcher.worker import load

EXIT_INTERRUPTED = 3        # jobs.launcher.launch.EXIT_INTERRUPTED: a point saved at a step and stopped
FORWARDED = (signal.SIGUSR2, signal.SIGTERM, signal.SIGINT)
POLL_S = 0.5


def _job_id() -> str:
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")


class PackRun:
    """The child processes of one packed array task, lane by lane, with signal forwarding."""

    def __init__(self, spec_path: Path, lanes: list[Lane]):
        self.spec_path, self.lanes = spec_path, lanes
        self.received: list[int] = []
        self.codes: dict[int, int] = {}       # point -> exit code of its child

    def _start(self, point: int, lane: Lane) -> subprocess.Popen:
        env = dict(os.environ)
        if lane.cuda_visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = lane.cuda_visible
        print(f"[pack] point {point} starts" + (f" on GPU {lane.cuda_visible}" if lane.cuda_visible else ""),
              flush=True)
        return subprocess.Popen([sys.executable, "-u", "-m", "jobs.launcher.pack_worker", str(self.spec_path),
                                 "--point", str(point)], env=env)

    def run(self) -> dict[int, int]:
        """Run every lane to its end (or to a signal); {point: exit code} of the points started."""
        queues = [list(lane.points) for lane in self.lanes]
        running: dict[int, tuple[int, subprocess.Popen, list]] = {}   # lane -> (point, child, sent)
        previous = {s: signal.signal(s, lambda signum, _f: self.received.append(signum)) for s in FORWARDED}
        try:
            while True:
                for i, queue in enumerate(queues):
                    if i not in running and queue and not self.received:
                        point = queue.pop(0)
                        running[i] = (point, self._start(point, self.lanes[i]), [])
                if not running:
                    return self.codes
                # forwarded here, not in the handler: a child started just before the signal gets it too
                for _point, child, sent in running.values():
                    for signum in self.received[len(sent):]:
                        child.send_signal(signum)
                        sent.append(signum)
                time.sleep(POLL_S)
                for i, (point, child, _sent) in list(running.items()):
                    if child.poll() is not None:
                        self.codes[point] = child.returncode
                        del running[i]
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def stopped(self, point: int) -> bool:
        """Whether the point saved and stopped (or never started, or died of the forwarded signal)."""
        code = self.codes.get(point)
        return code is None or code == EXIT_INTERRUPTED or (bool(self.received) and -code in self.received)


def run_task(spec_path: Path) -> int:
    """Run the points of array task $SLURM_ARRAY_TASK_ID of the packed spec at `spec_path`."""
    spec = json.loads(spec_path.read_text())
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID") or 0)
    points = list(task_points(index, int(spec["pack"]), len(spec["tasks"])))
    tasks = {j: load(spec, j)[0] for j in points}
    mode = spec.get("pack_mode", "auto")
    free, need = shared_memory(list(tasks.values())) if mode == "shared" else (None, 0)
    lanes = plan(points, mode, visible_gpus() if mode in ("auto", "gpus") else [], free, need)
    print(f"[pack] array task {index}: points {points[0]}..{points[-1]} in {len(lanes)} lane(s), "
          f"mode {mode}", flush=True)
    pack = PackRun(spec_path, lanes)
    pack.run()
    failed = [j for j in points if not pack.stopped(j) and pack.codes[j] != 0]
    for j in points:
        code = pack.codes.get(j)
        outcome = ("done" if code == 0 else "stopped" if pack.stopped(j) else f"FAILED (exit {code})")
        print(f"[pack] point {j}: {outcome}  {tasks[j].run_dir}", flush=True)
        if j in failed:
            rundir.append_jsonl(tasks[j].run_dir / JOBS_LOG, {"kind": "failed", "time": time.time(),
                                "job_id": _job_id(), "exit_code": code})
    to_resume = [j for j in points if pack.stopped(j)]
    if signal.SIGUSR2 in pack.received and to_resume and os.environ.get("SLURM_JOB_ID"):
        for j in to_resume:
            rundir.append_jsonl(tasks[j].run_dir / JOBS_LOG, {"kind": "requeue", "time": time.time(),
                                "job_id": _job_id()})
        print(f"[pack] requeueing Slurm job {os.environ['SLURM_JOB_ID']} for point(s) {to_resume}", flush=True)
        if subprocess.run(["scontrol", "requeue", os.environ["SLURM_JOB_ID"]], check=False).returncode == 0:
            return 0
        print("[pack] requeue refused; submit the sweep again to resume", flush=True)
        return EXIT_INTERRUPTED
    if pack.received:
        return EXIT_INTERRUPTED
    return 1 if failed else 0


def _child(spec_path: Path, point: int) -> int:
    from jobs.launcher.launch import run_inline
    return run_inline(*load(json.loads(spec_path.read_text()), point), requeue=False)


def main(argv: list[str]) -> int:
    """The array task (argv: TASKS_JSON) or one of its points (TASKS_JSON --point J)."""
    from jobs.errors import exit_code
    if "--point" in argv:
        return exit_code(lambda: _child(Path(argv[0]), int(argv[argv.index("--point") + 1])))
    return exit_code(lambda: run_task(Path(argv[0])))   # expected errors: one line and exit 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
