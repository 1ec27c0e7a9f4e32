"""The run-dir hash covers what changes results, and only that: cosmetic fields keep the run dir,
resume and config.json check; runs named before they left the hash are still found."""
import numpy as np
import pytest

from gpt.batches import ArrayExamples
from gpt.config import GPTConfig, RunConfig, TrainConfig
from gpt.overrides import apply_overrides, digest, config_hash, locate_run_dir
from gpt.trainer import train
from jobs.full_run import PRESETS
from stop_after import StopAfter

COSMETIC = ["train.progress=off", "train.log_interval=7", "train.checkpoint_interval=3",
            "train.loggers=tensorboard,wandb"]


def test_cosmetic_fields_do_not_change_the_hash():
    base = PRESETS["default"]()
    for item in COSMETIC:
        assert config_hash(apply_overrides(base, [item])) == config_hash(base), item
    for item in ["train.eval_interval=100", "train.eval_iters=5", "seed=1", "train.compile=true"]:
        assert config_hash(apply_overrides(base, [item])) != config_hash(base), item


def test_configs_with_cosmetic_defaults_keep_their_old_hash():
    # pinned before cosmetic fields existed (the smoke preset logs every 10 steps: the default)
    assert config_hash(RunConfig()) == "3db4f4ae"
    assert config_hash(PRESETS["smoke"]()) == "b39395d2"


def test_a_run_named_by_the_older_hash_is_still_found(tmp_path):
    cfg = PRESETS["default"]()                      # log_interval=50: its name was a different hash
    assert digest(cfg) != config_hash(cfg)
    new = locate_run_dir(tmp_path, "full_run", cfg)
    assert new.name == f"{cfg.name}-{config_hash(cfg)}"
    older = tmp_path / "full_run" / f"{cfg.name}-{digest(cfg)}"
    older.mkdir(parents=True)
    assert locate_run_dir(tmp_path, "full_run", cfg) == older
    new.mkdir()                                      # once both exist, the current name wins
    assert locate_run_dir(tmp_path, "full_run", cfg) == new


def _toy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (32, 8))
    mask = np.ones(x.shape, np.float32)
    batches = ArrayExamples({"train": (x, np.roll(x, -1, 1), mask), "val": (x[:8], x[:8], mask[:8])})
    cfg = RunConfig(name="c", model=GPTConfig(vocab_size=20, n_layer=1, n_head=1, n_embd=8, block_size=8),
                    train=TrainConfig(max_iters=6, batch_size=4, eval_interval=3, eval_iters=1,
                                      log_interval=1, progress="off"))
    return cfg, batches


def test_changing_how_progress_is_shown_resumes_the_same_run(tmp_path):
    cfg, batches = _toy()
    first = train(cfg, locate_run_dir(tmp_path, "j", cfg), batches, stop=StopAfter(4))
    assert first["status"] == "interrupted"
    shown = apply_overrides(cfg, ["train.progress=lines", "train.log_interval=2"])
    run_dir = locate_run_dir(tmp_path, "j", shown)
    assert run_dir == locate_run_dir(tmp_path, "j", cfg)
    summary = train(shown, run_dir, batches)
    assert summary["status"] == "completed" and summary["attempts"] == 2


def test_a_config_that_computes_something_else_is_still_refused(tmp_path):
    cfg, batches = _toy()
    train(cfg, tmp_path / "run", batches, stop=StopAfter(2))
    with pytest.raises(ValueError, match="different config"):
        train(apply_overrides(cfg, ["optim.lr=1e-2"]), tmp_path / "run", batches)
