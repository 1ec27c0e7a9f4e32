"""The leak-free val loss on REAL trained runs: the naive mask (zero after the softmax) looks
better than causal attention on the whole-window val loss training logs, and loses once every
position is scored from its own prefix; the probe flags it, the report ranks it below causal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import main
from reports import ablation
from reports.discover import discover
from reports.load import load_run

STEPS = ["train.max_iters=150", "train.eval_interval=50", "train.eval_iters=2", "sample.max_new_tokens=4",
         "model.attention=explicit"]


@pytest.fixture(scope="module")
def runs(data_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    where = ["--runs-root", str(root), "--data-root", str(data_root),
             "--cache-dir", str(tmp_path_factory.mktemp("cache"))]
    dirs = {}
    for mask in ("causal", "naive"):
        args = ["attention_ablation", "--preset", "smoke", *STEPS, f"model.mask={mask}", *where]
        assert main.main(args) == 0
        dirs[mask] = next(d for d in (root / "attention_ablation").iterdir() if d.name not in
                          {p.name for p in dirs.values()})
    return root, dirs


def _causal(run_dir: Path) -> dict:
    return json.loads((run_dir / "eval" / "causal.json").read_text())


def test_naive_mask_wins_on_whole_windows_and_loses_leak_free(runs):
    _, dirs = runs
    causal, naive = _causal(dirs["causal"]), _causal(dirs["naive"])
    assert not causal["sees_future"] and causal["future_leak"] < 1e-4
    assert abs(causal["loss"] - causal["window_loss"]) < 1e-4    # causal: both scores are one score
    assert naive["sees_future"] and naive["future_leak"] > 1e-2
    assert naive["window_loss"] < causal["window_loss"]            # the leak flatters it...
    assert naive["loss"] > causal["loss"] + 0.05                  # ...and it loses without it
    assert naive["tokens"] == causal["tokens"] == 4096


def test_report_ranks_the_naive_variant_below_causal_and_flags_it(runs):
    root, _ = runs
    refs, _ = discover([root])
    rows = ablation.ablation_groups([load_run(r) for r in refs])["attention_ablation"]
    assert [r["variant"] for r in rows] == ["attention=explicit", "attention=explicit mask=naive"]
    table = ablation.ablation_table(rows)
    assert table.rows[1][2].startswith("SEES FUTURE") and table.rows[0][2] == "no"
    assert (0, 3) in table.bold
