"""main.py reproduce: references file, gap arithmetic, one-line errors, a real smoke run + report."""
from __future__ import annotations

import json

import pytest

import main
from jobs.tools import reproduce
from jobs.tools.reproductions import EXPERIMENTS
from reports.build import build_report


def test_every_experiment_has_references_with_sources_and_known_keys():
    refs = reproduce.references()
    assert set(EXPERIMENTS) <= set(refs)
    for name in EXPERIMENTS:
        for ref in refs[name]["references"]:
            assert ref["source"] and ("value" in ref or "low" in ref)
            # where the number comes from: a quote, a computation, or said to be unverified;
            # never a document the user does not have
            assert any(w in ref["source"] for w in ('"', "README", "computed", "unverified")), ref
            assert "SPEC" not in ref["source"] and "seeds/" not in ref["source"]
    assert {r["key"] for r in refs["cs224n_pretrain_finetune"]["references"]} == \
        {"pretrain_finetune", "pretrain_finetune_students", "no_pretrain", "london"}


def test_gap_is_distance_to_the_value_or_the_range():
    assert reproduce.gap(4.0, {"value": 5.0}) == -1.0
    assert reproduce.gap(143.0, {"low": 140.0, "high": 146.0}) == 0.0
    assert reproduce.gap(150.0, {"low": 140.0, "high": 146.0}) == 4.0
    assert reproduce.gap(8.0, {"low": 10.0, "high": None}) == -2.0
    assert reproduce.gap(15.0, {"low": 10.0, "high": None}) == 5.0     # a lower bound met by 5, not "0"
    assert reproduce.gap(1200.0, {"low": 1000.0, "high": None}) == 200.0
    assert reproduce.gap_text(5.0, {"low": 10.0, "high": None}) == "+5 (meets >= 10)"
    assert reproduce.gap_text(-2.0, {"low": 10.0, "high": None}) == "-2 (misses >= 10)"
    assert reproduce.gap_text(0.0, {"low": 140.0, "high": 146.0}) == "0 (inside 140-146)"
    assert reproduce.gap_text(4.0, {"low": 140.0, "high": 146.0}) == "+4 (outside 140-146)"
    assert reproduce.gap(None, {"value": 1.0}) is None


def test_unknown_experiment_is_one_line_error_listing_them(capsys):
    assert main.main(["reproduce", "cs224n"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(name in err for name in EXPERIMENTS)


def test_smoke_reproduction_writes_marked_table_and_report_section(tmp_path, data_root, monkeypatch):
    monkeypatch.setenv("DATA_ROOT", str(data_root))
    runs = tmp_path / "runs"
    code = main.main(["reproduce", "nanogpt_char", "train.max_iters=4", "train.eval_interval=2",
                      "train.eval_iters=1", "sample.max_new_tokens=2", "sample.temperatures=1.0",
                      "--scale", "smoke", "--runs-root", str(runs), "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    result = json.loads((runs / "reproduce" / "nanogpt_char.smoke.json").read_text())
    row = result["rows"][0]
    assert result["smoke"] and row["reference"] == "1.4697" and row["ours"] > 1.4697
    assert row["gap"] == pytest.approx(row["ours"] - 1.4697)
    assert "SMOKE" in (runs / "reproduce" / "nanogpt_char.smoke.md").read_text()
    index = build_report([runs], tmp_path / "report", log=lambda _: None)
    assert "## Reproduction" in index.read_text() and "not comparable" in index.read_text()
