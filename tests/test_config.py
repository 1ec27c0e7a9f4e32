"""Config validation, overrides and JSON round trip: clear errors that list the valid choices."""
import dataclasses

import pytest

from gpt.config import ConfigError, GPTConfig, LSTMConfig, RunConfig, model_preset
from gpt.overrides import apply_overrides, config_hash, from_dict, to_dict


def test_overrides_parse_by_type():
    cfg = apply_overrides(RunConfig(), ["optim.lr=3e-4", "model.n_layer=6", "train.amp=false",
                                        "optim.betas=0.9,0.99", "sample.prompts=a, b|c",
                                        "name=exp1"])
    assert cfg.optim.lr == 3e-4 and cfg.model.n_layer == 6 and cfg.train.amp is False
    assert cfg.optim.betas == (0.9, 0.99) and cfg.sample.prompts == ("a, b", "c") and cfg.name == "exp1"


def test_model_preset_and_arch_switch():
    cfg = apply_overrides(RunConfig(), ["model=gpt-nano", "model.block_size=32"])
    assert (cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd, cfg.model.block_size) == (3, 3, 48, 32)
    lstm = apply_overrides(cfg, ["model.arch=lstm"])
    assert isinstance(lstm.model, LSTMConfig) and lstm.model.n_layer == 3 and lstm.model.block_size == 32


@pytest.mark.parametrize("override, message", [
    ("optim.lrr=1", "unknown config key 'optim.lrr'; valid keys here: optim.name, optim.lr"),
    ("bogus=1", "valid keys here: name, seed, device, model"),
    ("train.max_iters=ten", "train.max_iters='ten': expected int"),
    ("train.amp=maybe", "expected a bool"),
    ("model.n_head=5", "model.n_embd 128 is not divisible by model.n_head 5; pick n_head among"),
    ("optim.name=lion", "choose one of: adamw, adam, adagrad, sgd, momentum"),
    ("model.arch=rnn", "choose one of: gpt, lstm"),
    ("model=gpt-huge", "unknown preset; choose one of: gpt-nano"),
    ("optim=1", "optim is a section"),
    ("optim.lr.x=1", "optim.lr is a value, not a section"),
    ("no_equals_sign", "must look like key=value"),
])
def test_bad_overrides_are_refused_with_the_valid_choices(override, message):
    with pytest.raises(ConfigError) as err:
        apply_overrides(RunConfig(), [override])
    assert message in str(err.value)


def test_json_round_trip_strict_and_forgiving():
    cfg = RunConfig(name="x", model=model_preset("lstm"))
    data = to_dict(cfg)
    assert from_dict(data) == cfg
    with pytest.raises(ConfigError, match="unknown config key"):
        from_dict({**data, "extra": 1})
    old = {k: v for k, v in data.items() if k != "sample"}          # an older run's config
    old["optim"] = {k: v for k, v in data["optim"].items() if k != "min_lr"}
    assert from_dict(old).sample == RunConfig().sample


def test_hash_tracks_the_config():
    a = RunConfig()
    assert config_hash(a) == config_hash(RunConfig())
    assert config_hash(a) != config_hash(dataclasses.replace(a, seed=1))
    assert len(config_hash(a)) == 8


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPTConfig().n_layer = 3


def test_overrides_that_need_each_other_apply_in_any_order():
    nano = apply_overrides(RunConfig(), ["model=gpt-nano"])          # 3 heads, 48 dims
    for order in (["model.n_embd=64", "model.n_head=4"], ["model.n_head=4", "model.n_embd=64"]):
        cfg = apply_overrides(nano, order)
        assert (cfg.model.n_embd, cfg.model.n_head) == (64, 4)
    with pytest.raises(ConfigError, match="divisible"):              # alone it is still refused
        apply_overrides(nano, ["model.n_embd=64"])
