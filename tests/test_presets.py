"""Every preset a user can name builds a valid config and a model (on the meta device: no memory,
no training): job presets, model size presets, and every named sweep."""
import dataclasses
import importlib

import pytest
import torch

from gpt import build_model
from gpt.config import MODEL_PRESETS, RunConfig, model_preset
from gpt.overrides import config_hash, from_dict, to_dict
from jobs import JOBS, config_type
from jobs import sweeps

JOB_PRESETS = [(job, preset) for job, module in JOBS.items()
               for preset in importlib.import_module(module).PRESETS]


def _builds(model_cfg) -> int:
    """Parameters of the model the config describes (sizes 0 = from the data: any will do)."""
    if getattr(model_cfg, "source", "gpt") != "gpt":
        return 1      # a Hugging Face encoder: jobs/classify.py loads it from the hub, not buildable here
    if model_cfg.vocab_size == 0:
        model_cfg = dataclasses.replace(model_cfg, vocab_size=65)
    if getattr(model_cfg, "n_classes", None) == 0:
        model_cfg = dataclasses.replace(model_cfg, n_classes=2)
    with torch.device("meta"):
        return sum(p.numel() for p in build_model(model_cfg).parameters())


def _valid(cfg, cls: type = RunConfig) -> None:
    assert isinstance(cfg, cls)
    assert from_dict(to_dict(cfg), cls) == cfg       # config.json round trip
    # ... to the same run dir: a Slurm job reads its config back from the launcher's task list
    assert config_hash(from_dict(to_dict(cfg), cls)) == config_hash(cfg)
    assert len(config_hash(cfg)) == 8
    if cls is RunConfig:                             # a job's own config (evaluate) has no model
        assert _builds(cfg.model) > 0


@pytest.mark.parametrize("job, preset", JOB_PRESETS, ids=[f"{j}:{p}" for j, p in JOB_PRESETS])
def test_every_job_preset_builds(job, preset):
    _valid(importlib.import_module(JOBS[job]).PRESETS[preset](), config_type(job))


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_every_model_preset_builds(name):
    assert _builds(model_preset(name)) > 0


@pytest.mark.parametrize("name", sorted(n for n in sweeps.SWEEPS if n != "grid"))
def test_every_named_sweep_builds(name):
    runs = sweeps.build(name, [])
    assert runs and len({r.cfg.name for r in runs}) == len(runs)
    assert len({config_hash(r.cfg) for r in runs}) == len(runs)   # no two runs share a run dir
    for run in runs:
        assert run.job in JOBS
        _valid(run.cfg)
