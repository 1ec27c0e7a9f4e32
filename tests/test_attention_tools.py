"""Attention tools on tiny REAL runs: grid sweep inline, eval_lengths, logit-bias recovery, the
report's ablation section and bench train --attention. One session fixture trains everything."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import main
from gpt import rundir
from gpt.logit_bias import TopTwoAPI, recover_distribution, top_p_filter
from jobs.tools.logit_bias import load_gpt_run, next_token_logits
from reports.build import build_report

TINY = ["model.n_layer=1", "model.block_size=16", "train.max_iters=3", "train.eval_interval=3",
        "train.eval_iters=1", "train.batch_size=4", "sample.max_new_tokens=8"]


@pytest.fixture(scope="session")
def runs(data_root, tmp_path_factory):
    """A 2-point grid sweep of the attention_ablation job (learned vs sinusoidal) + a tiny LSTM."""
    root, cache = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("cache")
    where = ["--runs-root", str(root), "--data-root", str(data_root), "--cache-dir", str(cache)]
    code = main.main(["sweep", "grid", "model.pos_embedding=learned,sinusoidal", *TINY, "--job",
                      "attention_ablation", "--preset", "smoke", "--sweep-name", "pos", *where])
    assert code == 0
    lstm = ["model.arch=lstm", "model.n_embd=16", "model.hidden_size=16", "model.block_size=16",
            "train.max_iters=2", "train.eval_interval=2", "train.eval_iters=1", "train.batch_size=4",
            "sample.max_new_tokens=4"]
    assert main.main(["full_run", "--preset", "smoke", *lstm, *where]) == 0
    index = json.loads((root / "sweeps" / "pos" / "index.json").read_text())
    dirs = {r["label"]: r["run_dir"] for r in index["runs"]}
    lstm_dir = next((root / "full_run").iterdir())
    return {"root": root, "where": where, "index": index, "learned": dirs["pos_embedding=learned"],
            "sinusoidal": dirs["pos_embedding=sinusoidal"], "lstm": str(lstm_dir)}


def test_grid_sweep_inline_writes_the_index_with_one_run_per_point(runs):
    rows = runs["index"]["runs"]
    assert [r["label"] for r in rows] == ["pos_embedding=learned", "pos_embedding=sinusoidal"]
    assert {r["job"] for r in rows} == {"attention_ablation"} and len({r["name"] for r in rows}) == 2
    assert all(rundir.is_complete(r["run_dir"]) for r in rows)


def _lengths(run_dir) -> dict:
    return json.loads((Path(run_dir) / "eval" / "lengths.json").read_text())


def test_sinusoidal_extrapolates_and_learned_is_capped_with_a_note(runs, data_root, capsys):
    sin = _lengths(runs["sinusoidal"])        # written by the job at T/2, T, 2T, 4T
    assert [r["length"] for r in sin["rows"]] == [8, 16, 32, 64] and sin["max_context"] is None
    assert all(np.isfinite(r["loss"]) and r["ppl"] > 1 for r in sin["rows"]) and sin["note"] == ""
    job_file = _lengths(runs["learned"])        # the job's own file, which the report reads...
    assert main.main(["eval_lengths", "--run-dir", runs["learned"], "--lengths", "8,32,64", *runs["where"][2:]]) == 2
    assert "already holds lengths [8, 16, 32, 64], max_tokens 8192" in capsys.readouterr().err
    assert _lengths(runs["learned"]) == job_file   # ...is never replaced by other settings
    assert main.main(["eval_lengths", "--run-dir", runs["learned"], "--lengths", "8,32,64", "--max-tokens", "512",
                      "--out", "lengths-512.json", *runs["where"][2:]]) == 0
    learned = json.loads((Path(runs["learned"]) / "eval" / "lengths-512.json").read_text())
    assert [r["length"] for r in learned["rows"]] == [8, 16, 32, 64]     # block_size 16 added
    assert [("loss" in r) for r in learned["rows"]] == [True, True, False, False]
    assert "cannot extrapolate (learned position embeddings)" in learned["note"]
    assert "note: cannot extrapolate" in capsys.readouterr().out


def test_eval_lengths_allows_an_lstm_and_refuses_bad_input(runs, tmp_path, capsys):
    where = runs["where"][2:]
    assert main.main(["eval_lengths", "--run-dir", runs["lstm"], "--lengths", "8,64", *where]) == 0
    assert all("loss" in r for r in _lengths(runs["lstm"])["rows"])
    for lengths in ("0,8", "8,8", "a", "8,99999999"):
        assert main.main(["eval_lengths", "--run-dir", runs["sinusoidal"], "--lengths", lengths, *where]) == 2
    for out in ("../x.json", "x.txt", ".hidden.json"):
        assert main.main(["eval_lengths", "--run-dir", runs["sinusoidal"], "--out", out, *where]) == 2
    unfinished = tmp_path / "unfinished"
    shutil.copytree(runs["sinusoidal"], unfinished)
    (unfinished / rundir.SUMMARY).unlink()
    assert main.main(["eval_lengths", "--run-dir", str(unfinished), *where]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errors) == 8 and all(line.startswith("error: ") for line in errors)
    assert "not a finished run" in errors[-1]


def test_eval_causal_rescoring_a_run_and_its_hostile_inputs(runs, tmp_path, capsys):
    where = runs["where"][2:]
    job_file = json.loads((Path(runs["sinusoidal"]) / "eval" / "causal.json").read_text())   # by the job
    assert not job_file["sees_future"] and abs(job_file["loss"] - job_file["window_loss"]) < 1e-4
    assert main.main(["eval_causal", "--run-dir", runs["sinusoidal"], "--max-tokens", "256", *where]) == 2
    assert "already holds a score of max_tokens 4096" in capsys.readouterr().err   # the report's file stays
    assert main.main(["eval_causal", "--run-dir", runs["sinusoidal"], "--max-tokens", "256",
                      "--out", "causal-256.json", *where]) == 0
    out = capsys.readouterr().out
    assert "leak-free val loss" in out and "-> causal" in out
    assert json.loads((Path(runs["sinusoidal"]) / "eval" / "causal-256.json").read_text())["tokens"] == 256
    assert json.loads((Path(runs["sinusoidal"]) / "eval" / "causal.json").read_text()) == job_file
    unfinished = tmp_path / "unfinished"
    shutil.copytree(runs["sinusoidal"], unfinished)
    (unfinished / rundir.SUMMARY).unlink()
    bad = [(runs["sinusoidal"], ["--max-tokens", "0"], "--max-tokens 0 must be at least 1"),
           (runs["lstm"], [], "eval_causal scores GPT runs"), (str(unfinished), [], "not a finished run"),
           (runs["sinusoidal"], ["--out", "../x.json"], "--out '../x.json': give a plain file name")]
    for run_dir, extra, message in bad:
        assert main.main(["eval_causal", "--run-dir", run_dir, *extra, *where]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_logit_bias_recovers_a_trained_runs_distribution_within_v_plus_1_calls(runs):
    model, tokenizer, cfg = load_gpt_run(runs["sinusoidal"])
    logits = next_token_logits(model, tokenizer.encode("ROMEO:\nWhat"))
    api = TopTwoAPI(logits)
    recovered, calls = recover_distribution(api)
    true = np.exp(logits - logits.max())
    true /= true.sum()
    vocab = cfg.model.vocab_size
    assert calls == api.calls <= vocab + 1 and recovered.shape == (vocab,)
    assert np.abs(recovered - true).max() < 1e-5
    nucleus = top_p_filter(recovered, 0.5)
    assert np.isclose(nucleus.sum(), 1.0) and (nucleus > 0).sum() < vocab


def test_the_api_only_shows_two_tokens_and_refuses_large_biases():
    api = TopTwoAPI(np.array([0.0, 2.0, 1.0, -1.0]), max_bias=10)
    top = api()
    assert [t for t, _ in top] == [1, 2] and api.calls == 1
    assert api({3: 10.0})[0][0] == 3
    with pytest.raises(ValueError, match="over the API's limit"):
        api({3: 11.0})
    # a token more than max_bias below the top cannot be seen: it is recovered as 0
    probs, calls = recover_distribution(TopTwoAPI(np.array([0.0, -1.0, -50.0]), max_bias=10))
    assert calls == 2 and probs[2] == 0.0 and abs(probs.sum() - 1) < 1e-12


def test_logit_bias_cli_prints_calls_error_and_sample_and_refuses_bad_input(runs, tmp_path, capsys):
    assert main.main(["logit_bias", "--run-dir", runs["sinusoidal"], "--prompt", "ROMEO:",
                      "--max-new-tokens", "3"]) == 0
    out = capsys.readouterr().out
    assert "calls used for the first token" in out and "max abs error" in out and "sample: 'ROMEO:" in out
    unfinished = tmp_path / "unfinished"
    shutil.copytree(runs["sinusoidal"], unfinished)
    (unfinished / rundir.SUMMARY).unlink()
    bad = [(runs["lstm"], "ROMEO:", "is an lstm run"), (str(unfinished), "ROMEO:", "not a finished run"),
           (runs["sinusoidal"], "", "--prompt is empty"), (runs["sinusoidal"], "ROMEO€", "prompt 'ROMEO€'")]
    for run_dir, prompt, message in bad:
        assert main.main(["logit_bias", "--run-dir", run_dir, "--prompt", prompt]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_report_has_the_ablation_section_from_real_runs(runs, tmp_path):
    index = build_report([runs["root"]], tmp_path / "report", log=lambda _: None)
    text = index.read_text()
    assert "## Attention ablation: sweep pos" in text
    for name in ("ablation_ranking.png", "ablation_curves.png", "ablation_lengths.png"):
        assert name in text and (tmp_path / "report" / name).stat().st_size > 10_000
    table = (tmp_path / "report" / "ablation.csv").read_text().splitlines()
    assert table[0].startswith("rank,variant,sees future,leak-free val loss,leak-free ppl,whole-window val loss")
    cells = {line.split(",")[1]: line.split(",") for line in table[1:]}
    assert set(cells) == {"fused (default)", "pos=sinusoidal"}
    for row in cells.values():   # causal variants: the job's eval/causal.json says so, and both scores agree
        assert row[2] == "no" and abs(float(row[3]) - float(row[5])) < 1e-3
    assert cells["pos=sinusoidal"][-1] != ""           # val ppl at 2x length, from lengths.json
    assert "**" in (tmp_path / "report" / "ablation.md").read_text()   # the best in bold


def test_bench_train_times_each_variant_in_one_run(capsys):
    assert main.main(["bench", "train", "--attention", "linear,aft", "--steps", "1", "--warmup", "0",
                      "--batch-size", "2", "--block-size", "16", "--vocab-size", "32", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["fused", "linear", "aft"]   # fused added
    assert lines[2].endswith("1.00x") and all(line.endswith("x") for line in lines[2:])
    assert main.main(["bench", "train", "--attention", "nope"]) == 2
