"""No half-finished run: summary.json is the last file a training job writes, so a run whose
samples (or evaluations) fail is not complete and a rerun finishes it; GPT-1's smoke run, whose
prompt "\\n" encodes to no tokens, completes with samples; a prompt the tokenizer refuses is an
error before training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import main
from gpt import rundir

TINY = ["train.max_iters=4", "train.eval_interval=2", "train.eval_iters=1", "train.batch_size=2",
        "model.n_layer=1", "sample.max_new_tokens=4"]


@pytest.fixture
def where(data_root, tmp_path):
    return ["--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
            "--cache-dir", str(tmp_path / "cache")]


def _run_dir(capsys, args) -> rundir.Path:
    assert main.main([*args, "--print-run-dir"]) == 0
    return Path(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_run_whose_sampling_fails_is_not_complete_and_a_rerun_finishes_it(where, capsys):
    args = ["full_run", "--preset", "smoke", *TINY, *where]
    run_dir = _run_dir(capsys, args)
    run_dir.mkdir(parents=True)
    (run_dir / rundir.SAMPLES).write_text("a file where the samples folder goes: sampling fails")
    assert main.main(args) != 0
    assert "samples; a file is where a folder should be" in capsys.readouterr().err
    assert (run_dir / rundir.LAST).is_file() and (run_dir / "ppl.png").is_file()   # trained, plotted...
    assert not rundir.is_complete(run_dir)                                        # ...but not complete
    (run_dir / rundir.SAMPLES).unlink()
    assert main.main(args) == 0                  # the rerun resumes at the last step and samples
    assert rundir.is_complete(run_dir) and (run_dir / rundir.SAMPLES / "samples.json").is_file()
    files = [p for p in run_dir.rglob("*") if p.is_file() and ".lock" not in p.name]
    assert max(files, key=lambda p: p.stat().st_mtime_ns).name == rundir.SUMMARY   # written last


def test_gpt1_smoke_run_completes_with_samples_from_an_empty_encoding(where, capsys):
    args = ["full_run", "--preset", "smoke", "data.dataset=wikitext2-gpt1", "data.tokenizer=gpt1", *TINY, *where]
    assert main.main(args) == 0
    run_dir = _run_dir(capsys, args)
    samples = json.loads((run_dir / rundir.SAMPLES / "samples.json").read_text())
    assert rundir.is_complete(run_dir) and samples and all(s["prompt"] == "\n" for s in samples)
    assert all(s["start"].startswith("token id 0") and s["text"] for s in samples)


def test_a_prompt_the_tokenizer_refuses_is_one_line_before_training(where, capsys):
    args = ["full_run", "--preset", "smoke", *TINY, "sample.prompts=ROMEO€", *where]
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sample.prompts: 'ROMEO€' cannot be encoded") and err.count("\n") == 1
    runs = Path(where[1])
    assert not runs.exists() or not any(p.is_file() for p in runs.rglob("*"))   # nothing written
