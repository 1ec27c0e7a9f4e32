"""Resources follow the job: a GPU when it will use CUDA, named cluster profiles, the one-line
summary printed before submission, all node-local folders refused at once, and a finished run
that says "already completed" instead of training again."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gpt.overrides import apply_overrides
from jobs.launcher import launch, request
from jobs.errors import LaunchError
from jobs.launcher.cluster import check_shared, describe, load_resources, resources_for
from jobs.launcher.sbatch import Resources
from jobs.context import JobContext
from jobs.full_run import smoke
from jobs.launcher.tasks import Task, make_tasks

PROFILE = {"partition": "cpu", "cpus": 2, "setup": ["module load cuda"],
           "profiles": {"gpu": {"partition": "gpu", "gpus": 2, "mem_gb": 32}}}


@pytest.fixture
def profile(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(PROFILE))
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(path))
    for var in ("TOOLKIT_PROFILE", "TOOLKIT_GPUS", "TOOLKIT_CPUS", "TOOLKIT_PARTITION"):
        monkeypatch.delenv(var, raising=False)
    return path


def _args(**flags) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    request.add_arguments(parser)
    return parser.parse_args([item for k, v in flags.items() for item in (f"--{k.replace('_', '-')}", str(v))])


def _resources(tasks, args) -> Resources:
    """What the launcher resolves for these tasks and parsed flags."""
    req = request.from_args(args)
    return resources_for(tasks, req.resources, req.profile)


def _tasks(tmp_path, *overrides: str) -> list[Task]:
    return make_tasks("full_run", [apply_overrides(smoke(), list(overrides))], tmp_path / "runs")


def test_cuda_job_asks_for_a_gpu_cpu_job_does_not(tmp_path, profile):
    assert _resources(_tasks(tmp_path, "device=cuda"), _args()).gpus == 1
    assert _resources(_tasks(tmp_path), _args()).gpus == 0
    assert _resources(_tasks(tmp_path, "device=cpu"), _args(gpus=2)).gpus == 2
    cmp = make_tasks("cpu_gpu_comparison", [smoke()], tmp_path / "runs")
    assert _resources(cmp, _args()).gpus == 1      # the job itself needs one


def test_explicit_zero_gpus_for_a_cuda_job_is_refused(tmp_path, profile, monkeypatch):
    with pytest.raises(LaunchError, match="--gpus 0 .* uses device=cuda: ask for at least 1 GPU"):
        _resources(_tasks(tmp_path, "device=cuda"), _args(gpus=0))
    monkeypatch.setenv("TOOLKIT_GPUS", "0")
    with pytest.raises(LaunchError, match="device=cpu"):
        _resources(_tasks(tmp_path, "device=cuda"), _args())


def test_named_profile_overlays_the_top_level_and_flags_still_win(profile, monkeypatch):
    base = load_resources({})
    assert (base.partition, base.gpus, base.cpus, base.setup) == ("cpu", 0, 2, ("module load cuda",))
    gpu = load_resources({}, profile="gpu")
    assert (gpu.partition, gpu.gpus, gpu.cpus, gpu.mem_gb) == ("gpu", 2, 2, 32)
    assert load_resources({"partition": "debug"}, profile="gpu").partition == "debug"
    # the job's need raises a profile's GPU count, never lowers it
    assert load_resources({}, profile="gpu", min_gpus=1, why="x").gpus == 2
    assert load_resources({}, min_gpus=1, why="x").gpus == 1
    monkeypatch.setenv("TOOLKIT_PROFILE", "gpu")
    assert load_resources({}).partition == "gpu"


@pytest.mark.parametrize("data, name, message", [
    (PROFILE, "a100", "cluster profile 'a100' is not in .*; defined: gpu"),
    ({"cpus": 1}, "gpu", "defined: none"),
    ({"profiles": {"gpu": {"gpu": 1}}}, "gpu", "profile 'gpu': unknown key.s. gpu; valid:"),
    ({"profiles": ["gpu"]}, "gpu", '"profiles" must map names to objects'),
])
def test_bad_profiles_say_what_to_fix(tmp_path, monkeypatch, data, name, message):
    (tmp_path / "p.json").write_text(json.dumps(data))
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(tmp_path / "p.json"))
    with pytest.raises(LaunchError, match=message):
        load_resources({}, profile=name)


def test_profile_name_without_a_profile_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TOOLKIT_CLUSTER_PROFILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(LaunchError, match="--profile gpu: there is no profile file"):
        load_resources({}, profile="gpu")


def test_resources_line_names_every_size(profile):
    line = describe(load_resources({"time_min": 30}, profile="gpu"), "gpu")
    assert line == "partition=gpu gpus=2 cpus=2 mem=32G time=30min"


def test_every_node_local_folder_is_reported_in_one_error():
    with pytest.raises(LaunchError) as err:
        check_shared({"runs root": Path("/tmp/r"), "data cache": Path("/dev/shm/c"),
                      "data root": Path("/var/tmp/d"), "other": Path.home()}, allow_local=False)
    text = str(err.value)
    assert all(f"{what} {path} is under" in text for what, path in
               (("runs root", "/tmp/r"), ("data cache", "/dev/shm/c"), ("data root", "/var/tmp/d")))
    assert str(Path.home()) not in text


def test_finished_run_says_already_completed_and_trains_nothing(tmp_path, data_root, capsys):
    cfg = apply_overrides(smoke(), ["train.max_iters=2", "train.eval_interval=2", "sample.max_new_tokens=2"])
    [task] = make_tasks("full_run", [cfg], tmp_path / "runs")
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache")
    assert launch.run_inline(task, ctx) == 0
    metrics = (task.run_dir / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert launch.run_inline(task, ctx) == 0
    assert capsys.readouterr().out == f"[launch] already completed: {task.run_dir}\n"
    assert (task.run_dir / "metrics.jsonl").read_text() == metrics
