"""Grid sweeps from the command line: syntax, hostile input, and the attention ablation's configs."""
from __future__ import annotations

import pytest

from gpt.config import ConfigError
from gpt.overrides import config_hash
from jobs import ablations
from jobs.full_run import smoke
from jobs.grid import expand
from jobs.sweeps import build, build_grid


def test_cartesian_product_with_labels_and_distinct_names():
    axes, points = expand(smoke(), ["optim.lr=1e-3,3e-4", "model.attention=fused,explicit", "seed=7"])
    assert [a.short for a in axes] == ["lr", "attention"]
    assert [p.label for p in points] == ["lr=1e-3 attention=fused", "lr=1e-3 attention=explicit",
                                         "lr=3e-4 attention=fused", "lr=3e-4 attention=explicit"]
    assert [(p.cfg.optim.lr, p.cfg.model.attention) for p in points] == [
        (1e-3, "fused"), (1e-3, "explicit"), (3e-4, "fused"), (3e-4, "explicit")]
    assert all(p.cfg.seed == 7 for p in points)                       # a one-value key is fixed
    assert len({p.cfg.name for p in points}) == 4 and len({config_hash(p.cfg) for p in points}) == 4


def test_tuple_fields_keep_commas_inside_one_value():
    _, points = expand(smoke(), ["optim.betas=0.9,0.99;0.9,0.95", "sample.temperatures=1.0,0.5"])
    assert [p.cfg.optim.betas for p in points] == [(0.9, 0.99), (0.9, 0.95)]
    assert all(p.cfg.sample.temperatures == (1.0, 0.5) for p in points)
    _, points = expand(smoke(), ["sample.prompts=a,b|c;d"])
    assert [p.cfg.sample.prompts for p in points] == [("a,b", "c"), ("d",)]


def test_same_key_twice_in_two_axes_names_gets_full_keys():
    axes, _ = expand(smoke(), ["model.dropout=0.0,0.1", "train.batch_size=4,8"])
    assert [a.short for a in axes] == ["dropout", "batch_size"]


@pytest.mark.parametrize("items, message", [
    (["optim.lr="], "has no value"),
    (["optim.lr=1e-3,"], "empty value"),
    (["optim.lr=1e-3,,3e-4"], "empty value"),
    (["optim.lr=1e-3;3e-4"], "';' separates values of tuple fields only"),
    (["optim.betas=0.9,0.99;"], "empty value"),
    (["optim.lrx=1,2"], "unknown config key 'optim.lrx'"),
    (["model.attention=fused,nope"], "choose one of"),
    (["optim.lr=1e-3,1e-3"], "listed twice"),
    (["optim.lr=1e-3,0.001"], "are the same config"),
    (["optim.lr=1e-3", "optim.lr=3e-4"], "given twice"),
    (["name=a,b"], "name cannot be a grid axis"),
    (["optim.lr"], "must look like key=v1,v2"),
])
def test_hostile_items_are_refused_in_one_line(items, message):
    with pytest.raises(ConfigError, match=message) as info:
        expand(smoke(), items)
    assert "\n" not in str(info.value)


def test_values_valid_only_together_are_accepted_and_each_point_is_checked():
    # smoke has 3 heads: n_embd=64 alone is invalid, but every point below divides
    _, points = expand(smoke(), ["model.n_embd=64,128", "model.n_head=4,8"])
    assert [(p.cfg.model.n_embd, p.cfg.model.n_head) for p in points] == [(64, 4), (64, 8), (128, 4), (128, 8)]
    _, [point] = expand(smoke(), ["model.n_embd=64", "model.n_head=4"])     # fixed keys: together too
    assert (point.cfg.model.n_embd, point.cfg.model.n_head) == (64, 4)
    with pytest.raises(ConfigError, match=r"grid point 'n_embd=64 n_head=3': model.n_embd 64 is not divisible"):
        expand(smoke(), ["model.n_embd=48,64", "model.n_head=3,4"])       # (48,3) fine, (64,3) not


def test_huge_grid_is_refused_before_building_and_the_flag_raises_the_limit():
    ten = ",".join(str(i) for i in range(1, 11))
    items = [f"seed={ten}", f"train.max_iters={ten}", f"train.batch_size={ten}", f"train.log_interval={ten}"]
    with pytest.raises(ConfigError, match=r"10000 points .* --max-points 10000"):
        expand(smoke(), items)
    assert len(expand(smoke(), items[:2], max_points=100)[1]) == 100


def test_grid_is_job_agnostic_and_checks_job_and_preset():
    runs = build_grid("attention_ablation", "smoke", ["model.pos_embedding=learned,rope"], 10)
    assert {r.job for r in runs} == {"attention_ablation"}
    with pytest.raises(ConfigError, match="is not a job; choose one of: full_run"):
        build_grid("nope", "default", [], 10)
    with pytest.raises(ConfigError, match="not a preset of full_run; choose one of"):
        build_grid("full_run", "nope", [], 10)


def test_attention_ablations_builds_every_variant_on_one_base():
    runs = build("attention_ablations", ["train.max_iters=30", "model.n_head=2", "model.n_embd=32"])
    assert [r.cfg.name for r in runs] == [f"abl-{k}" for k in ablations.variant_keys()]
    assert len({config_hash(r.cfg) for r in runs}) == len(runs) == len(ablations.VARIANTS)
    assert all(r.cfg.train.max_iters == 30 and r.cfg.model.n_embd == 32 for r in runs)
    models = {r.cfg.name: r.cfg.model for r in runs}
    assert models["abl-mask-naive"].mask == "naive" and models["abl-pos-alibi"].pos_embedding == "alibi"
    assert {m.attention for m in models.values()} >= {"fused", "explicit", "linear", "performer", "lowrank",
                                                      "aft", "synthesizer_dense", "synthesizer_random",
                                                      "perceiver", "bigbird"}
    with pytest.raises(ConfigError, match="variant"):
        build("attention_ablations", ["model.block_size=8"])    # lowrank rank 16 > 8: names the variant


def test_variant_selection_lists_valid_keys():
    assert [k for k, _, _ in ablations.select("fused,linear,fused")] == ["fused", "linear"]
    with pytest.raises(ValueError, match="choose 'all' or a comma list of: fused, explicit"):
        ablations.select("fused,nope")
