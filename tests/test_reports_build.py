"""The report end to end on hand-made run dirs: tables, figures, damaged runs, idempotence, CLI."""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.build import build_report
from reports.cli import run_cli
from reports.discover import discover
from reports.load import load_run

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value))


def _metrics(val_ppls, gpu=False, steps_per_epoch=10, seconds_per_step=0.5):
    """A start row, 20 train rows per val row, and one val row per epoch with the given ppls."""
    rows = [{"kind": "start", "step": 0, "n_params": 12345, "iters_per_epoch": steps_per_epoch}]
    for epoch, ppl in enumerate(val_ppls):
        step = epoch * steps_per_epoch
        for i in range(steps_per_epoch):
            row = {"kind": "train", "step": step + i + 1, "epoch": (step + i + 1) / steps_per_epoch,
                   "loss": math.log(ppl * 0.9), "ppl": ppl * 0.9, "tokens_per_s": 1000.0,
                   "elapsed_s": (step + i + 1) * seconds_per_step}
            if gpu:  # warm-up rows are lower; the steady state is 500 allocated / 800 reserved
                row.update(gpu_mem_allocated_mb=100.0 if i < 2 and epoch == 0 else 500.0,
                           gpu_mem_reserved_mb=800.0, gpu_mem_peak_allocated_mb=900.0)
            rows.append(row)
        rows.append({"kind": "val", "step": step, "epoch": float(epoch), "loss": math.log(ppl),
                     "ppl": ppl, "train_loss": math.log(ppl * 0.8), "train_ppl": ppl * 0.8,
                     "elapsed_s": step * seconds_per_step})
    return rows


def _run(run_dir: Path, arch=None, n_layer=1, optim="adamw", val_ppls=(300.0, 200.0), done=True,
         gpu=False, tokenizer="gpt1", **files):
    config = {"name": run_dir.name.rsplit("-", 1)[0], "model": {"arch": arch, "n_layer": n_layer},
              "optim": {"name": optim, "lr": 1e-3, "weight_decay": 0.0 if optim == "adam" else 5e-4},
              "data": {"tokenizer": tokenizer}}
    if arch is not None:
        _write(run_dir / "config.json", config)
    _write(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in _metrics(val_ppls, gpu)))
    if done:
        _write(run_dir / "summary.json", {"status": "completed", "n_params": 12345})
    for name, value in files.items():
        _write(run_dir / name, value)
    return run_dir


def make_runs(root: Path, sweep_only: bool = False) -> Path:
    """A runs root: a 5-run sweep (one incomplete), a char run, a comparison, evals, broken runs."""
    sweep = root / "sweep_b"
    _run(sweep / "exp1-aaaaaaa1", "lstm", 1, "adam", (300.0, 150.0, 160.0))
    _run(sweep / "exp2-aaaaaaa2", "lstm", 1, "adamw", (300.0, 140.0, 145.0))  # best lstm (epoch 1)
    _run(sweep / "exp5-aaaaaaa5", "gpt", 1, "adam", (250.0, 145.0))            # best gpt
    _run(sweep / "exp6-aaaaaaa6", "gpt", 1, "sgd", (1500.0, 1200.0), done=False)
    _run(sweep / "exp9-aaaaaaa9", "lstm", 2, "adamw", (280.0, 170.0), gpu=True)
    entries = [{"exp": n, "name": f"exp{n}", "job": "sweep_b", "run_dir": f"sweep_b/exp{n}-aaaaaaa{n}",
                "label": f"exp{n}"} for n in (1, 2, 5, 6, 9)]
    _write(root / "sweeps" / "b" / "index.json", {"sweep": "b", "runs": entries})
    if sweep_only:
        return root
    samples = [{"prompt": "O Romeo", "temperature": t, "top_k": 0, "top_p": 1.0, "max_new_tokens": 20,
                "text": f"text at {t} <b>&amp;</b> | pipe\nline two"} for t in (1.5, 0.1)]
    _run(root / "full_run" / "char-cccccccc", "gpt", 2, "adamw", (10.0, 5.0), tokenizer="char",
         **{"samples/samples.json": samples})
    comparison = {"steps": 50, "speedup": 20.0, "note": "same model, 50 steps",
                  "rows": [{"device": "cpu", "device_name": "cpu", "total_s": 120.0, "ms_per_step": 2400.0,
                            "tokens_per_s": 3000.0},
                           {"device": "cuda", "device_name": "H100", "total_s": 6.0, "ms_per_step": 120.0,
                            "tokens_per_s": 60000.0}]}
    _run(root / "cpu_gpu_comparison" / "cmp-dddddddd", "gpt", 3, **{"comparison.json": comparison})
    evals = {"eval/no_pretrain.json": ("no_pretrain", 8, 1.6),
             "eval/pretrain_finetune.json": ("pretrain_finetune", 100, 20.0),
             "eval/test.json": ("pretrain_finetune", None, None)}   # unlabelled test set: no score
    results = {name: {"kind": "birthplace_accuracy", "variant": variant, "eval_file": "birth_dev.tsv",
                      "correct": correct, "total": 500, "accuracy": accuracy, "skipped": 0}
               for name, (variant, correct, accuracy) in evals.items()}
    _run(root / "evaluate" / "birth-eeeeeeee", "gpt", 4, **results)
    # a baseline job: completed, no training metrics, same folder name as the run above
    _write(root / "london_baseline" / "birth-eeeeeeee" / "summary.json", {"status": "completed"})
    _write(root / "london_baseline" / "birth-eeeeeeee" / "eval" / "dev.json",
           {**results["eval/no_pretrain.json"], "variant": "london", "correct": 25, "accuracy": 5.0})
    (root / "broken" / "empty-00000000").mkdir(parents=True)
    _run(root / "broken" / "noconfig-11111111", None, done=False)
    bad = _run(root / "broken" / "bad-22222222", "gpt", 1, done=False)
    _write(bad / "config.json", '{"model": {"arch": "gpt"')   # cut short
    _write(bad / "env.json", "[1, 2]")                          # not an object
    rows = (bad / "metrics.jsonl").read_text()
    resumed = "".join(line + "\n" for line in rows.splitlines()[-3:])  # a resume rewrote 3 rows
    _write(bad / "metrics.jsonl", rows + resumed + '{"kind": "train", "st')
    return root


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = make_runs(tmp_path_factory.mktemp("runs"))
    out = tmp_path_factory.mktemp("report")
    lines = []
    index = build_report([root], out, log=lines.append)
    return root, out, index, lines


def test_outputs_exist_and_index_shows_every_figure(report):
    _, out, index, _ = report
    assert index == out / "index.md"
    for name in ("index.html", "summary.md", "summary.tex", "summary.csv", "memory.csv", "memory.png",
                 "comparison.csv", "comparison.png", "birthplace.csv", "birthplace.png",
                 "groups/b/ppl.png", "groups/full_run/ppl.png", "runs/sweep_b__exp1-aaaaaaa1/loss.png",
                 "runs/sweep_b__exp1-aaaaaaa1/ppl.png", "runs/broken__empty-00000000/ppl.png"):
        assert (out / name).is_file(), name
    markdown, html = index.read_text(), (out / "index.html").read_text()
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    for png in pngs:
        assert f"]({png})" in markdown and f'<img src="{png}"' in html, png
    assert markdown.count("*Figure ") == len(pngs)


def test_one_line_per_run_then_a_count(report):
    _, _, _, lines = report
    assert len(lines) == 12 + 1
    assert any("sweep_b/exp6-aaaaaaa6: incomplete" in line for line in lines)
    assert any("london_baseline/birth-eeeeeeee: completed, no training metrics" in line for line in lines)
    assert re.match(r"wrote \d+ files, reused 0 -> ", lines[-1])


def test_damaged_runs_are_warned_about_not_fatal(report):
    _, out, index, _ = report
    markdown = index.read_text()
    warnings = markdown.split("## Warnings", 1)[1].split("\n## ", 1)[0]
    assert "broken/empty-00000000: empty run folder" in warnings
    assert "broken/noconfig-11111111: config.json missing" in warnings
    assert "broken/bad-22222222: config.json is unreadable" in warnings
    assert "broken/bad-22222222: env.json should hold a JSON dict" in warnings
    assert "broken/bad-22222222: metrics.jsonl: 1 unreadable line(s) skipped" in warnings
    assert "written twice (resumed run)" in warnings
    summary = (out / "summary.md").read_text()
    assert "| noconfig-11111111 | broken | — | incomplete | — |" in summary
    # the baseline job has no training metrics: not a row; the name it shares gets its job
    assert "london_baseline" not in summary and "| evaluate/birth-eeeeeeee | evaluate | — | completed |" in summary


def test_html_escapes_text_and_markdown_escapes_pipes(report):
    _, out, index, _ = report
    html = (out / "index.html").read_text()
    assert "text at 1.5 &lt;b&gt;&amp;amp;&lt;/b&gt; | pipe\nline two" in html
    assert "<b>&amp;</b>" not in html
    assert r"text at 1.5 <b>&amp;</b> \| pipe<br>line two" in index.read_text()


def test_temperature_tables_hottest_first_for_char_models(report):
    _, _, index, _ = report
    section = index.read_text().split("## Samples by temperature", 1)[1].split("\n## ", 1)[0]
    assert section.index("temperature 1.5") < section.index("temperature 0.1")
    assert "| char-cccccccc | O Romeo |" in section


def test_comparison_and_birthplace_sections(report):
    _, out, _, _ = report
    comparison = (out / "comparison.csv").read_text().splitlines()
    assert comparison[0] == "run,device,device name,steps,total s,ms/step,tokens/s,speedup"
    assert comparison[2].startswith("cmp-dddddddd,cuda,H100,50,6.0,120.0,60000.0,20.0")
    birthplace = (out / "birthplace.csv").read_text().splitlines()
    assert birthplace[1].startswith("london,london_baseline/birth-eeeeeeee,birth_dev.tsv,25,500,5.0,0.0")
    assert [line.split(",")[0] for line in birthplace[1:]] == ["london", "no_pretrain", "pretrain_finetune"]
    assert birthplace[3].endswith(",20.0,15.0")


def test_rerun_reuses_everything_then_redraws_only_what_changed(tmp_path):
    root = make_runs(tmp_path / "runs", sweep_only=True)
    out = tmp_path / "report"
    build_report([root], out, log=lambda line: None)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    lines = []
    build_report([root], out, log=lines.append)
    assert lines[-1].startswith("wrote 0 files, reused ")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    run = root / "sweep_b" / "exp1-aaaaaaa1"
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"kind": "val", "step": 30, "epoch": 3.0, "loss": 4.0, "ppl": 54.6}) + "\n")
    build_report([root], out, log=lines.append)
    changed = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and p.stat().st_mtime_ns != stamps.get(p))
    assert changed == [".report-state.json", "groups/b/ppl.png", "index.html", "index.md",
                       "runs/sweep_b__exp1-aaaaaaa1/loss.png", "runs/sweep_b__exp1-aaaaaaa1/ppl.png",
                       "summary.csv", "summary.md", "summary.tex"]
    assert lines[-1].startswith("wrote 8 files, reused ")   # the state file is not counted


def test_sweep_index_gives_groups_and_experiment_numbers(report):
    root = report[0]
    refs, warnings = discover([root / "sweeps" / "b" / "index.json", root / "broken" / "bad-22222222"])
    assert warnings == []
    assert [(r.group, r.exp, r.name) for r in refs][:2] == [("b", 1, "exp1-aaaaaaa1"), ("b", 2, "exp2-aaaaaaa2")]
    assert (refs[-1].group, refs[-1].exp) == ("broken", None)
    refs, _ = discover([root])
    assert {r.group for r in refs if r.job == "sweep_b"} == {"b"}
    assert len(refs) == 12


def test_missing_input_and_resumed_rows(tmp_path, report):
    refs, warnings = discover([tmp_path / "nope"])
    assert refs == [] and "does not exist" in warnings[0]
    bad = load_run(discover([report[0] / "broken" / "bad-22222222"])[0][0])
    assert bad.train["step"].is_unique and bad.status == "incomplete" and bad.config == {}


def test_cli_builds_the_report_without_torch(tmp_path):
    """`python -m reports` end to end in a fresh interpreter where importing torch fails."""
    _run(tmp_path / "runs" / "full_run" / "one-ffffffff", "gpt", 1)
    code = ("import runpy, sys\n"
            "sys.modules['torch'] = None\n"   # any import of torch now raises ImportError
            f"sys.argv = ['reports', {str(tmp_path / 'runs')!r}, '--out', {str(tmp_path / 'out')!r}]\n"
            "runpy.run_module('reports', run_name='__main__')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "full_run/one-ffffffff: completed" in result.stdout
    assert (tmp_path / "out" / "index.html").is_file()


def test_cli_fails_on_missing_inputs(tmp_path, capsys):
    assert run_cli([str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "none of" in capsys.readouterr().err


def test_odd_inputs_become_warnings(tmp_path):
    _write(tmp_path / "runs" / "sweeps" / "x" / "index.json", {"sweep": "../../x", "runs": 3})
    _write(tmp_path / "runs" / "sweeps" / "y" / "index.json",
           {"sweep": "y", "runs": [{"exp": 1, "run_dir": "job/gone-12345678"}, "junk"]})
    old = _run(tmp_path / "runs" / "job" / "old-12345678", "gpt", 1)
    _write(old / "config.json", {"model": {"n_layer": 3}, "optimizer": "adam"})  # pre-LSTM, foreign key
    (tmp_path / "runs" / ".cache" / "x").mkdir(parents=True)   # hidden folders are no jobs
    build_report([tmp_path / "runs"], tmp_path / "runs" / "report", log=lambda line: None)
    lines = []  # the second time, the report folder under the runs root holds no runs either
    index = build_report([tmp_path / "runs"], tmp_path / "runs" / "report", log=lines.append)
    assert [line.split(":")[0].strip() for line in lines[:-1]] == ["job/old-12345678"]
    warnings = index.read_text().split("## Warnings", 1)[1].split("\n## ", 1)[0]
    assert '"runs" should be a list' in warnings and "gone-12345678 not found" in warnings
    assert "entry without run_dir skipped: 'junk'" in warnings
    assert "job/old-12345678: config.json has keys this report does not know: optimizer" in warnings
    assert "| old-12345678 | job | — | completed | gpt | 3 |" in (index.parent / "summary.md").read_text()


def test_a_figure_that_fails_is_a_warning(tmp_path, monkeypatch):
    import reports.render

    def broken(*args):
        raise ValueError("odd data")
    monkeypatch.setattr(reports.render, "group_figure", broken)
    _run(tmp_path / "runs" / "job" / "one-ffffffff", "gpt", 1)
    index = build_report([tmp_path / "runs"], tmp_path / "out", log=lambda line: None)
    assert "figure for group job not drawn: ValueError: odd data" in index.read_text()
    assert (tmp_path / "out" / "runs" / "job__one-ffffffff" / "loss.png").is_file()
