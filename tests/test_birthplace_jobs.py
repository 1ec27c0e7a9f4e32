"""pretrain -> finetune -> evaluate at toy scale: the smoke chain, strict init_from, bad inputs."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import main
from gpt import rundir
from gpt.checkpoint import load_checkpoint
from jobs import finetune
from jobs.context import JobContext

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def chain(data_root, tmp_path_factory):
    """`main.py pretrain_finetune --preset smoke` once, as a user runs it."""
    root = tmp_path_factory.mktemp("runs")
    res = subprocess.run([sys.executable, str(REPO / "main.py"), "pretrain_finetune", "--preset", "smoke",
                          "--runs-root", str(root), "--data-root", str(data_root)],
                         cwd=REPO, capture_output=True, text=True, timeout=600,
                         # the CPU is shared: one thread per process avoids oversubscription
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    (chain_dir,) = (root / "pretrain_finetune").iterdir()
    stages = json.loads((chain_dir / rundir.SUMMARY).read_text())["stages"]
    return root, res.stdout, stages


def cli(args, root, data_root, capsys):
    """main.main in-process: (exit code, stdout, stderr)."""
    code = main.main([*args, "--runs-root", str(root), "--data-root", str(data_root)])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_dir(stages, job, name):
    return Path(next(s["run_dir"] for s in stages if (s["job"], s["name"]) == (job, name)))


def test_chain_writes_predictions_and_accuracies(chain):
    root, stdout, stages = chain
    assert "Correct: 25 out of 500: 5.0%" in stdout                        # London on birth_dev
    assert [s["job"] for s in stages] == ["pretrain", "finetune", "evaluate", "evaluate", "finetune",
                                      "evaluate", "london_baseline"]
    tuned, scratch = run_dir(stages, "finetune", "smoke-pretrained"), run_dir(stages, "finetune", "smoke-scratch")
    for ft, variant in ((tuned, "pretrain_finetune"), (scratch, "no_pretrain")):
        result = json.loads((ft / "eval/birth_dev.json").read_text())
        assert result["kind"] == "birthplace_accuracy" and result["variant"] == variant
        assert result["total"] == 500 and result["skipped"] == 0 and result["eval_file"] == "birth_dev.tsv"
        assert result["accuracy"] == pytest.approx(100 * result["correct"] / 500)
        assert f"Correct: {result['correct']} out of 500: {result['accuracy']}%" in stdout
        lines = (ft / "eval/birth_dev.predictions.tsv").read_text().splitlines()
        assert len(lines) == 500 and lines[0].startswith("Where was Bryan Dubreuiel born?\t")
    test = json.loads((tuned / "eval/birth_test_inputs.json").read_text())
    assert test["total"] is None and test["correct"] is None and test["questions"] == 437
    london = json.loads(next((root / "london_baseline").glob("*/eval/birth_dev.json")).read_text())
    assert (london["variant"], london["correct"], london["total"], london["accuracy"]) == ("london", 25, 500, 5.0)


def test_stage_run_dirs_match_print_run_dir(chain, data_root, capsys):
    root, _, stages = chain
    pretrain = run_dir(stages, "pretrain", "smoke")
    code, out, _ = cli(["pretrain", "--preset", "smoke", "--print-run-dir"], root, data_root, capsys)
    assert code == 0 and out.strip() == str(pretrain)
    code, out, _ = cli(["finetune", "--preset", "smoke_pretrained", f"init_from={pretrain}",
                        "--print-run-dir"], root, data_root, capsys)
    assert out.strip() == str(run_dir(stages, "finetune", "smoke-pretrained"))
    config = json.loads((Path(out.strip()) / rundir.CONFIG).read_text())
    assert config["init_from"] == str(pretrain)


def test_rerunning_a_stage_skips_it(chain, data_root, capsys):
    root, _, stages = chain
    tuned = run_dir(stages, "finetune", "smoke-pretrained")
    result = tuned / "eval/birth_dev.json"
    before = result.stat().st_mtime_ns
    code, out, _ = cli(["evaluate", f"run_dir={tuned}"], root, data_root, capsys)
    assert code == 0 and "Correct:" in out and result.stat().st_mtime_ns == before


def test_finetune_loads_the_pretrained_weights(chain, data_root, tmp_path):
    """One step at a negligible learning rate: the finetuned weights are the pretrained ones."""
    root, _, stages = chain
    pretrain = run_dir(stages, "pretrain", "smoke")
    cfg = finetune.PRESETS["smoke_pretrained"]()
    cfg = dataclasses.replace(cfg, name="probe", init_from=str(pretrain),
                              optim=dataclasses.replace(cfg.optim, lr=1e-12, weight_decay=0.0),
                              train=dataclasses.replace(cfg.train, epochs=0, max_iters=1, eval_iters=1,
                                                        progress="off"))
    ctx = JobContext(runs_root=tmp_path, data_root=data_root, cache_dir=tmp_path / "cache")
    summary = finetune.run(cfg, ctx)
    before = load_checkpoint(pretrain / rundir.BEST)["model"]
    after = load_checkpoint(Path(summary["run_dir"]) / rundir.LAST)["model"]
    assert before.keys() == after.keys()
    for key in before:
        torch.testing.assert_close(after[key], before[key], atol=1e-6, rtol=0)


def _one_line_error(code, err, message):
    assert code == 2, err
    assert message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err


def test_init_from_that_is_not_a_finished_pretrain_run(chain, data_root, tmp_path, capsys):
    root, _, stages = chain
    pretrain = run_dir(stages, "pretrain", "smoke")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(pretrain, unfinished)
    (unfinished / rundir.SUMMARY).unlink()
    for init_from, message in ((tmp_path / "nothing", "is not a run dir"),
                               (unfinished, "has not finished"),
                               (run_dir(stages, "finetune", "smoke-scratch"), "not a pretrain run")):
        code, _, err = cli(["finetune", "--preset", "smoke_pretrained", f"init_from={init_from}"],
                           tmp_path / "runs", data_root, capsys)
        _one_line_error(code, err, message)
    code, _, err = cli(["finetune", "--preset", "smoke_pretrained", f"init_from={pretrain}",
                        "model.n_head=4"], tmp_path / "runs", data_root, capsys)
    _one_line_error(code, err, "architecture differs: model.n_head=4 (pretrained: 3)")


@pytest.mark.parametrize("text, message", [
    ("Where was Ada born?\tLondon\nWhere was Bob born?\n", "line 2 has no tab"),
    ("\n\n", "is empty"),
    ("Where was Ada born?\tLondon\tUK\n", "expected `question<TAB>place`"),
])
def test_bad_eval_files(chain, data_root, tmp_path, capsys, text, message):
    root, _, stages = chain
    bad = tmp_path / "bad.tsv"
    bad.write_text(text, encoding="utf-8")
    for args in (["london_baseline", f"data.val_split={bad}"],
                 ["evaluate", f"run_dir={run_dir(stages, 'finetune', 'smoke-scratch')}", f"eval_file={bad}"]):
        code, _, err = cli(args, tmp_path / "runs", data_root, capsys)
        _one_line_error(code, err, message)


def test_unknown_characters_in_a_question_are_skipped_and_counted(chain, data_root, tmp_path, capsys):
    root, _, stages = chain
    scratch = run_dir(stages, "finetune", "smoke-scratch")
    questions = tmp_path / "mine.tsv"
    questions.write_text("Where was Ada born?\tLondon\nWhere was ☃ Snowman born?\tParis\n", encoding="utf-8")
    code, out, _ = cli(["evaluate", f"run_dir={scratch}", f"eval_file={questions}"],
                       tmp_path / "runs", data_root, capsys)
    assert code == 0 and "skipped 1 question(s), counted wrong" in out
    result = json.loads((scratch / "eval/mine.json").read_text())
    assert (result["skipped"], result["total"]) == (1, 2) and "'☃'" in result["skipped_reasons"][0]
    assert (scratch / "eval/mine.predictions.tsv").read_text().splitlines()[1] == "Where was ☃ Snowman born?\t"


def test_evaluate_needs_a_finished_run(data_root, tmp_path, capsys):
    code, _, err = cli(["evaluate"], tmp_path / "runs", data_root, capsys)
    _one_line_error(code, err, "evaluate needs run_dir=RUN_DIR")
    code, _, err = cli(["evaluate", f"run_dir={tmp_path}"], tmp_path / "runs", data_root, capsys)
    _one_line_error(code, err, "is not a finished run")


@pytest.mark.parametrize("args, message", [
    (["init_from=DIR"], "it is now run_dir= (write run_dir=DIR)"),
    (["data.val_split=x.tsv"], "it is now eval_file= (write eval_file=x.tsv)"),
    (["--init-from", "DIR"], "it is now run_dir="),
    (["checkpoint=first"], "checkpoint='first' is not valid; choose one of: last, best"),
    (["text_fidelity=raw"], "choose one of: original, clean"),
    (["max_answer_chars=0"], "max_answer_chars=0 must be >= 1"),
    (["eval_file="], "eval_file= is empty"),
    (["train.epochs=3"], "unknown config key 'train'"),
])
def test_evaluate_config_refuses_old_spellings_and_bad_values(data_root, tmp_path, capsys, args, message):
    code, _, err = cli(["evaluate", *args], tmp_path / "runs", data_root, capsys)
    _one_line_error(code, err, message)


def test_evaluate_results_are_keyed_by_file_content_not_name(chain, data_root, tmp_path, capsys):
    """Two eval files with one stem: each prints its own count, the second does not reuse the first."""
    _, _, stages = chain
    scratch = run_dir(stages, "finetune", "smoke-scratch")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.tsv").write_text("Where was Ada born?\tLondon\n" * 2, encoding="utf-8")
    (tmp_path / "b" / "same.tsv").write_text("Where was Bob born?\tParis\n" * 4, encoding="utf-8")
    for folder, total in (("a", 2), ("b", 4), ("a", 2)):
        code, out, _ = cli(["evaluate", f"run_dir={scratch}", f"eval_file={tmp_path / folder / 'same.tsv'}"],
                           tmp_path / "runs", data_root, capsys)
        assert code == 0 and f"out of {total}:" in out, out
    results = sorted(json.loads(p.read_text())["total"] for p in (scratch / "eval").glob("same*.json"))
    assert results == [2, 4]


def test_a_job_writes_into_the_run_dir_the_launcher_gives_it(data_root, tmp_path):
    """ctx.run_dir wins over the dir the config maps to: the job does not locate it again."""
    from jobs import london_baseline
    from jobs.launcher.launch import run_inline
    from jobs.launcher.tasks import Task
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache")
    task = Task("london_baseline", london_baseline.PRESETS["default"](), tmp_path / "elsewhere")
    assert run_inline(task, ctx) == 0
    assert json.loads((tmp_path / "elsewhere" / rundir.SUMMARY).read_text())["accuracy"] == 5.0
    assert json.loads((tmp_path / "elsewhere" / rundir.ENV).read_text())["attempt"] == 0
    assert not (tmp_path / "runs").exists()


def test_evaluate_results_are_keyed_by_settings_too(chain, data_root, tmp_path, capsys):
    """text_fidelity changes the prompts of a question-only file: a result under the other
    setting is not reused (it was, before the cache key held it), and each keeps its own file."""
    _, _, stages = chain
    scratch = run_dir(stages, "finetune", "smoke-scratch")
    questions = tmp_path / "questions.tsv"
    questions.write_text("Where was Ada born?\nWhere was Bob born?\n", encoding="utf-8")
    results = {}
    for fidelity in ("original", "clean", "original"):
        code, out, _ = cli(["evaluate", f"run_dir={scratch}", f"eval_file={questions}",
                            f"text_fidelity={fidelity}"], tmp_path / "runs", data_root, capsys)
        assert code == 0, out
        [path] = [p for p in (scratch / "eval").glob("questions*.json")
                  if json.loads(p.read_text())["text_fidelity"] == fidelity]
        results.setdefault(fidelity, []).append((path, path.stat().st_mtime_ns))
    assert results["original"][0] == results["original"][1]       # the third run reused the first
    assert results["clean"][0][0] != results["original"][0][0]    # its own file, not overwritten
