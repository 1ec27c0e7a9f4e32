"""What a grader reads: the ablation ranked by a leak-free loss with leaks flagged, one table per
sweep with unique labels; classifiers reported by accuracy; runs of one name in two roots apart."""
import json
import math
from pathlib import Path

import pandas as pd

from reports import ablation, ablation_figures
from reports.build import build_report
from reports.discover import RunRef, discover
from reports.load import Run, load_run
from reports.samples import repetition, temperature_tables
from reports.synthetic import write_run
from reports.tables import to_markdown


def _val_rows(losses, **extra):
    return [{"kind": "val", "step": 10 * i, "epoch": float(i), "loss": loss, "ppl": math.exp(loss), **extra}
            for i, loss in enumerate(losses)]


def _ablation_run(root: Path, name: str, model: dict, window: float, leak_free: float | None,
                  sees_future: bool, max_iters: int = 200) -> Path:
    config = {"name": name, "seed": 1337, "model": {"block_size": 32, **model},
              "train": {"max_iters": max_iters}, "data": {"dataset": "tinyshakespeare"}}
    files = {"samples__samples_json": [{"prompt": "\n", "temperature": 0.8, "text": f"{name} says"}]}
    if leak_free is not None:
        files["eval__causal_json"] = {"kind": "causal", "loss": leak_free, "window_loss": window,
                                      "future_leak": 1.5 if sees_future else 0.0, "sees_future": sees_future}
    return write_run(root / "attention_ablation" / f"{name}-{abs(hash(name)) % 10**8:08d}", config,
                     _val_rows([3.5, window]), {"status": "completed", "n_params": 1000,
                                                "best_val_ppl": math.exp(window)}, **files)


def _index(root: Path, sweep: str, run_dirs: list[Path]) -> None:
    entries = [{"name": d.name, "job": "attention_ablation", "run_dir": str(d.relative_to(root))} for d in run_dirs]
    path = root / "sweeps" / sweep / "index.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sweep": sweep, "runs": entries}))


def _ablation_root(root: Path) -> Path:
    """Sweep `abl` (causal, explicit, naive: whole-window loss lower, leak-free higher, and a
    second causal run of the same variant), sweep `other` (longer training), one run outside."""
    abl = [_ablation_run(root, "abl-fused", {}, 2.58, 2.58, False),
           _ablation_run(root, "abl-explicit", {"attention": "explicit"}, 2.59, 2.59, False),
           _ablation_run(root, "abl-naive", {"attention": "explicit", "mask": "naive"}, 2.49, 2.89, True),
           _ablation_run(root, "abl-fused-again", {}, 2.60, 2.60, False)]
    _index(root, "abl", abl)
    _index(root, "other", [_ablation_run(root, "long-fused", {}, 2.0, 2.0, False, max_iters=5000)])
    _ablation_run(root, "loose-naive", {"mask": "naive", "attention": "explicit"}, 2.4, None, False)
    return root


def _runs(root: Path):
    refs, _ = discover([root])
    return [load_run(ref) for ref in refs]


def test_naive_mask_is_flagged_and_ranked_below_causal_by_the_leak_free_loss(tmp_path):
    groups = ablation.ablation_groups(_runs(_ablation_root(tmp_path)))
    assert set(groups) == {"abl", "other", "attention_ablation"}      # one table per sweep
    rows = groups["abl"]
    labels = [r["variant"] for r in rows]
    assert labels[0].startswith("fused (default) (abl-fused-")
    assert len(set(labels)) == len(labels)                              # two fused runs: both named
    assert labels[-1] == "attention=explicit mask=naive" and rows[-1]["sees_future"]
    table = ablation.ablation_table(rows, "abl")
    md = to_markdown(table)
    naive = table.rows[-1]
    assert naive[0] == "4" and naive[2].startswith("SEES FUTURE") and naive[3] == "2.890"
    assert naive[5] == "2.490 †"                                        # its flattering score, marked
    assert (0, 3) in table.bold and not any(r == 3 for r, _ in table.bold)   # best leak-free: causal
    assert "**2.580**" in md and "SEES FUTURE" in table.caption and "attention=explicit mask=naive" in table.caption
    assert "sweep abl" in table.caption and "differs only in its attention settings" in table.caption
    assert "this group only" in table.caption


def test_caption_says_when_runs_differ_beyond_attention_and_config_flags_old_runs(tmp_path):
    root = _ablation_root(tmp_path)
    _ablation_run(root, "abl-short", {"qkv": "mlp"}, 2.7, 2.7, False, max_iters=30)
    _index(root, "abl", [d for d in (root / "attention_ablation").iterdir() if d.name.startswith("abl-")])
    groups = ablation.ablation_groups(_runs(root))
    assert "also differ in train.max_iters" in ablation.ablation_table(groups["abl"], "abl").caption
    loose = groups["attention_ablation"][0]   # no causal.json: the config is a known leak
    assert loose["sees_future"] and loose["leak_free_loss"] is None
    caption = ablation.ablation_table(groups["attention_ablation"]).caption
    assert "outside any sweep" in caption and "eval_causal" in caption


def test_report_draws_one_ablation_section_per_sweep_with_readable_figures(tmp_path):
    root = _ablation_root(tmp_path / "runs")
    index = build_report([root], tmp_path / "report", log=lambda _: None).read_text()
    out = tmp_path / "report"
    assert index.count("## Attention ablation: ") == 3
    for stem in ("ablation-abl", "ablation-other", "ablation-attention_ablation"):
        assert (out / f"{stem}.csv").is_file()
    assert (out / "ablation-abl_ranking.png").is_file() and (out / "ablation-abl_curves.png").is_file()
    assert not (out / "ablation-abl_lengths.png").exists()             # no run has lengths.json here
    rows = (out / "ablation-abl.csv").read_text().splitlines()
    assert len(rows) == 5 and "long-fused" not in "".join(rows)          # the other sweep stays out


def test_many_variants_get_small_multiples_and_sorted_bars():
    rows = []
    for i in range(23):
        run = Run(RunRef(Path(f"/r/attention_ablation/v{i}-0000000{i % 10}"), "attention_ablation", "s", None),
                  val=pd.DataFrame({"step": [0, 10], "ppl": [30.0, 12.0 + i / 10]}))
        rows.append({"run": run, "variant": f"variant {i}", "sees_future": i == 5, "leak_free_loss": 2.5 + i / 100,
                     "window_loss": 2.5 + i / 100 - (0.4 if i == 5 else 0.0), "lengths": None, "block_size": 32})
    curves = ablation_figures.curves_figure(rows)
    visible = [ax for ax in curves.axes if ax.get_visible()]
    assert len(visible) == 23 and all(len(ax.get_lines()) <= 2 for ax in visible)   # one variant (+ reference) each
    bars = ablation_figures.ranking_figure(rows)
    ax = bars.axes[0]
    by_height = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert by_height[max(by_height)] == "variant 0"                       # best at the top
    assert "variant 5  [sees future]" in by_height.values()
    assert len(ax.patches) == 23 and any(p.get_hatch() for p in ax.patches)


def _classifier(root: Path, name: str, optim: str, accs, test: float) -> Path:
    config = {"name": name, "model": {"arch": "classifier"}, "optim": {"name": optim, "lr": 1e-3},
              "train": {"batch_size": 8, "epochs": 3}, "data": {"dataset": "sst2"}}
    rows = [{"kind": "val", "step": i, "epoch": float(i), "loss": 0.7 - a / 2, "ppl": math.exp(0.7 - a / 2),
             "accuracy": a, "train_accuracy": a + 0.05} for i, a in enumerate(accs)]
    return write_run(root / "classify" / f"{name}-0000000{len(name) % 10}", config, rows,
                     {"status": "completed", "best_val_accuracy": max(accs), "best_epoch": float(accs.index(max(accs))),
                      "test_accuracy": test, "n_params": 10})


def test_classifiers_are_reported_by_accuracy_with_the_best_runs_test_accuracy(tmp_path):
    root = tmp_path / "runs"
    _classifier(root, "adam", "adam", [0.5, 0.7, 0.8], 0.78)
    _classifier(root, "sgd", "sgd", [0.5, 0.55, 0.6], 0.61)
    index = build_report([root], tmp_path / "report", log=lambda _: None).read_text()
    summary = (tmp_path / "report" / "summary.csv").read_text().splitlines()
    header = summary[0].split(",")
    for line in summary[1:]:
        cells = dict(zip(header, line.split(",")))
        assert cells["best val ppl"] == "" and cells["train ppl"] == "" and cells["best val acc"] != ""
    assert (tmp_path / "report" / "groups" / "classify" / "accuracy.png").is_file()
    assert not (tmp_path / "report" / "groups" / "classify" / "ppl.png").exists()
    assert "Best by validation accuracy" in index and "val 0.8000" in index and "test 0.7800" in index


def test_runs_of_one_name_in_two_roots_stay_apart(tmp_path):
    for root, loss in (("a/runs", 2.0), ("b/runs", 3.0)):
        write_run(tmp_path / root / "full_run" / "smoke-12345678", {"name": "smoke", "model": {"arch": "gpt"}},
                  _val_rows([4.0, loss]), {"status": "completed"})
    build_report([tmp_path / "a" / "runs", tmp_path / "b" / "runs"], tmp_path / "report", log=lambda _: None)
    folders = sorted(p.name for p in (tmp_path / "report" / "runs").iterdir())
    assert folders == ["a_runs__full_run__smoke-12345678", "b_runs__full_run__smoke-12345678"]
    summary = (tmp_path / "report" / "summary.csv").read_text()
    assert "a/runs/full_run/smoke-12345678" in summary and "b/runs/full_run/smoke-12345678" in summary


def test_temperature_captions_describe_the_samples_they_caption(tmp_path):
    samples = [{"prompt": "\n", "temperature": 0.1, "text": "the the the the the the the the "},
               {"prompt": "\n", "temperature": 1.5, "text": "qZ!x vK;j wP?m bY:o Lr&u gH"}]
    write_run(tmp_path / "full_run" / "char-12345678", {"name": "char", "data": {"tokenizer": "char"}},
              _val_rows([3.0, 2.0]), {"status": "completed"}, samples__samples_json=samples)
    tables = dict(temperature_tables(_runs(tmp_path)))
    assert repetition("abcabcabc") == 1.0 and repetition("abcdefgh") == 0.0
    cold, hot = tables[0.1].caption, tables[1.5].caption
    assert "1 sample(s) at temperature 0.1" in cold and "100%" in cold and "the most repetitive" in cold
    assert "0%" in hot and "the least repetitive" in hot
    assert "drift into noise" not in cold + hot                      # no fixed text
