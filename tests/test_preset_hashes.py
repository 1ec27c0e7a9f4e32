"""Run dirs do not move: the run-dir hash of every preset of every job, and the run dirs of
pretrain_finetune's stage chain, pinned to the literal values the code computed before the
jobs/ tree was split into jobs, tools and launcher. A refactor that changes any of them would
orphan existing run dirs (no resume, a second copy of the run): it fails here first."""
from pathlib import Path

from gpt.overrides import config_hash
from jobs import JOBS, job_module
from jobs.context import JobContext
from jobs.launcher.tasks import make_tasks

# job -> the hashes of its presets, in PRESETS order (two presets with one config share a hash)
PINNED = {
    "full_run": ("f67981f6", "b39395d2", "d947a829", "50fd0c77", "50fd0c77", "7f3827e2"),
    "cpu_gpu_comparison": ("e834f9cb", "e834f9cb", "e834f9cb", "b3df12e0"),
    "pretrain": ("da4df1a6", "49fa6a9e", "4fdef9a2"),
    "finetune": ("5c950324", "7c7b5b84", "313045d0", "32f937cd"),
    "evaluate": ("4aa8617e", "44d3e49c"),
    "london_baseline": ("971448f1",),
    "pretrain_finetune": ("da4df1a6", "4fdef9a2"),
    "attention_ablation": ("99a331e4", "99a331e4"),
    "classify": ("389fce25", "abd173ef"),
}


def test_every_preset_of_every_job_keeps_its_hash():
    assert set(PINNED) == set(JOBS)
    got = {job: tuple(config_hash(make()) for make in job_module(job).PRESETS.values()) for job in JOBS}
    assert got == PINNED


def test_the_launcher_puts_a_preset_in_the_run_dir_it_always_had(tmp_path):
    cfg = job_module("full_run").PRESETS["smoke"]()
    [task] = make_tasks("full_run", [cfg], tmp_path)
    assert task.run_dir == tmp_path.resolve() / "full_run" / "smoke-b39395d2"


def test_the_stage_chain_of_pretrain_finetune_keeps_its_run_dirs():
    runs = Path("runs")          # relative: later stages name earlier run dirs, so the hash holds the path
    ctx = JobContext(runs_root=runs, data_root=None, cache_dir=Path("cache"))
    module = job_module("pretrain_finetune")
    stages = [f"{job}/{cfg.name}-{config_hash(cfg)}"
              for job, cfg in module.stage_configs(module.PRESETS["smoke"](), ctx)]
    assert stages == ["pretrain/smoke-4fdef9a2", "finetune/smoke-pretrained-2fd950f8",
                      "evaluate/dev-bb33b097", "evaluate/test-ebeef25b", "finetune/smoke-scratch-313045d0",
                      "evaluate/dev-585fdd8e", "london_baseline/dev-971448f1"]
