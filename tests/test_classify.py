"""classify at toy scale: our GPT and a tiny Hugging Face RoBERTa learn a separable labelled set,
resume exactly, pick best.pt by validation accuracy and score it on test; bad input fails in one line."""
import dataclasses
import json
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from gpt import rundir
from gpt.checkpoint import load_checkpoint
from gpt.config import ClassifierConfig, DataConfig, GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.overrides import apply_overrides, from_dict, to_dict
from jobs import classify
from jobs.classify_data import read_tsv
from jobs.errors import UserError
from jobs.context import JobContext
from stop_after import StopAfter

REPO = Path(__file__).resolve().parents[1]
# disjoint letters: separable by which characters occur, learnable by a char model in seconds
WORDS = {"upbeat": "yup joy fun wow", "downbeat": "bad sick grim eh"}


def write_set(folder: Path, sizes=(160, 40, 40), seed=0) -> Path:
    """{train,valid,test}.tsv: two to four words of one class's vocabulary, in random order."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), sizes):
        lines = []
        for i in range(n):
            label = list(WORDS)[i % 2]
            words = rng.choice(WORDS[label].split(), rng.integers(2, 5))
            lines.append(" ".join(words) + f"\t{label}")
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def gpt_cfg(folder: Path, **train) -> RunConfig:
    t = dict(epochs=3, batch_size=16, eval_iters=0, log_interval=5, progress="off", select_by="val_accuracy")
    t.update(train)
    return RunConfig(name="t", device="cpu", data=DataConfig(dataset=str(folder)),
                     model=ClassifierConfig(block_size=32, backbone=GPTConfig(
                         n_layer=1, n_head=2, n_embd=32, block_size=32, dropout=0.0)),
                     optim=OptimConfig(lr=3e-3, weight_decay=0.0), train=TrainConfig(**t))


def ctx_for(tmp_path: Path, stop=None) -> JobContext:
    return JobContext(runs_root=tmp_path / "runs", data_root=None, cache_dir=tmp_path / "cache", stop=stop)


def val_rows(run_dir: Path) -> list[dict]:
    return rundir.latest_per_step(rundir.read_jsonl(run_dir / rundir.METRICS), "val")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return write_set(tmp_path_factory.mktemp("set"))


def test_gpt_learns_picks_best_by_val_accuracy_and_scores_it_on_test(labelled, tmp_path):
    summary = classify.run(gpt_cfg(labelled), ctx_for(tmp_path))
    run_dir = Path(summary["run_dir"])
    assert summary["best_val_accuracy"] >= 0.9
    vals = val_rows(run_dir)
    accs = [r["accuracy"] for r in vals]
    assert summary["best_step"] == vals[int(np.argmax(accs))]["step"] == summary["test_step"]
    assert [r["step"] for r in vals] == [0, 10, 20, 30]          # once per epoch of 160 / 16
    assert "train_accuracy" in vals[-1]
    # the test figure is best.pt's: rebuild the model and score best.pt on test by hand
    cfg = from_dict(rundir.read_json(run_dir / rundir.CONFIG))
    from gpt.classifier import GPTClassifier
    from gpt.trainer import evaluate
    model = GPTClassifier(cfg.model)
    model.load_state_dict(load_checkpoint(run_dir / rundir.BEST)["model"])
    batches, _ = _batches(run_dir, labelled, cfg)
    test = evaluate(model, batches, "test", 7, 0, "cpu", nullcontext)
    assert test["accuracy"] == summary["test_accuracy"] and summary["test_examples"] == 40
    saved = json.loads((run_dir / rundir.SUMMARY).read_text())
    assert saved["test_accuracy"] == summary["test_accuracy"]
    assert json.loads((run_dir / "labels.json").read_text())["labels"] == ["downbeat", "upbeat"]
    assert (run_dir / "accuracy.png").is_file()
    assert classify.run(gpt_cfg(labelled), ctx_for(tmp_path))["test_accuracy"] == summary["test_accuracy"]


def _batches(run_dir, folder, cfg):
    """The job's encoding, rebuilt from the run dir's tokenizer and labels."""
    from gpt.batches import ArrayExamples
    from gpt.classifier import encode_examples
    from gpt.tokenizer import load_tokenizer
    tok = load_tokenizer(run_dir / "tokenizer.json")
    names = json.loads((run_dir / "labels.json").read_text())["labels"]
    texts, labels = read_tsv(folder / "test.tsv")
    x = encode_examples(tok.encode, texts, [names.index(v) for v in labels], cfg.model.block_size)
    return ArrayExamples({"test": x}), names


def test_labels_round_trip_any_strings(tmp_path):
    (tmp_path / "d").mkdir()
    rows = {"train": ["x y\tcat", "z\t dog ", "w\tcat"], "valid": ["q\tdog"], "test": ["r\tcat"]}
    for split, lines in rows.items():
        (tmp_path / "d" / f"{split}.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    texts, labels = read_tsv(tmp_path / "d" / "train.tsv")
    assert texts == ["x y", "z", "w"] and labels == ["cat", "dog", "cat"]
    cfg = dataclasses.replace(gpt_cfg(tmp_path / "d"), train=TrainConfig(max_iters=2, batch_size=2,
                                                                         eval_interval=1, progress="off"))
    run_dir = Path(classify.run(cfg, ctx_for(tmp_path))["run_dir"])
    assert json.loads((run_dir / "labels.json").read_text())["labels"] == ["cat", "dog"]


def test_resume_is_exact(labelled, tmp_path):
    cfg = gpt_cfg(labelled, epochs=2)
    straight = classify.run(cfg, ctx_for(tmp_path / "a"))
    first = classify.run(cfg, ctx_for(tmp_path / "b", stop=StopAfter(7)))
    assert first["status"] == "interrupted" and first["steps"] == 7
    resumed = classify.run(cfg, ctx_for(tmp_path / "b"))
    a, b = Path(straight["run_dir"]), Path(resumed["run_dir"])
    for kind in ("train", "val"):
        assert [r["loss"] for r in rundir.latest_per_step(rundir.read_jsonl(a / rundir.METRICS), kind)] == \
               [r["loss"] for r in rundir.latest_per_step(rundir.read_jsonl(b / rundir.METRICS), kind)]
    assert straight["test_accuracy"] == resumed["test_accuracy"]


def test_config_parts_and_old_runs():
    cfg = apply_overrides(classify.smoke(), ["optim.name=adagrad", "model.pooling=mean",
                                             "model.backbone.n_layer=1", "train.select_by=val_loss"])
    assert from_dict(to_dict(cfg)) == cfg and cfg.model.backbone.n_layer == 1
    old = to_dict(RunConfig())
    for key in ("test_split", "text_column", "label_column"):
        del old["data"][key]
    del old["train"]["select_by"]
    assert from_dict(old) == RunConfig()                 # config.json of runs made before classify
    from gpt.overrides import hashed_dict
    hashed = hashed_dict(RunConfig())                        # old run dirs keep their names
    assert "select_by" not in hashed["train"] and "test_split" not in hashed["data"]
    for bad, hint in (("model.pooling=max", "last, mean"), ("train.select_by=acc", "val_accuracy"),
                      ("model.source=roberta", "hf:NAME"), ("optim.name=lamb", "adagrad"),
                      ("model.block_size=99", "backbone.block_size")):
        with pytest.raises(ValueError, match=hint):
            apply_overrides(classify.smoke(), [bad])


@pytest.mark.parametrize("files, message", [
    ({"train": "good movie\tpos\nno tab here\n"}, "line 2 has no tab"),
    ({"valid": "fine\tmeh\n"}, "label\\(s\\) 'meh' that the train split lacks"),
    ({"train": "good\tpos\nnice\tpos\n"}, "only one class"),
    ({"test": "fine\t\n"}, "empty label"),
])
def test_bad_labelled_files_are_one_line_errors(labelled, tmp_path, files, message):
    folder = tmp_path / "d"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}.tsv").write_text(files.get(split, (labelled / f"{split}.tsv").read_text()))
    with pytest.raises(UserError, match=message):
        classify.run(gpt_cfg(folder), ctx_for(tmp_path))


def _main(args, env_extra=None, prelude=""):
    """main.py in a subprocess: (exit code, stderr)."""
    import os
    env = {**os.environ, **(env_extra or {})}
    code = f"{prelude}\nimport sys, main\nsys.exit(main.main({args!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=120)
    return done.returncode, done.stderr


def test_without_transformers_the_hf_source_says_how_to_install(labelled, tmp_path):
    rc, err = _main(["classify", f"data.dataset={labelled}", "model.source=hf:roberta-base",
                     "--runs-root", str(tmp_path)], prelude="import sys; sys.modules['transformers'] = None")
    assert rc == 2 and err.strip().count("\n") == 0, err
    assert "pip install -r requirements-extra.txt" in err


def test_hf_name_without_local_weights_offline_is_one_line(labelled, tmp_path):
    pytest.importorskip("transformers")
    rc, err = _main(["classify", f"data.dataset={labelled}", "model.source=hf:roberta-base",
                     "--runs-root", str(tmp_path)],
                    env_extra={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"})
    assert rc == 2 and err.strip().count("\n") == 0, err
    assert "no usable local copy" in err and "from_pretrained('roberta-base')" in err


def tiny_roberta(folder: Path) -> Path:
    """A randomly initialised 1-layer RoBERTa and a word-level tokenizer, saved locally (no download)."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>",
                                         *" ".join(WORDS.values()).split()])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                         pad_token="<pad>", unk_token="<unk>",
                                         mask_token="<mask>").save_pretrained(folder)
    config = transformers.RobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=64,
                                        max_position_embeddings=40, pad_token_id=1, bos_token_id=0,
                                        eos_token_id=2, type_vocab_size=1, hidden_dropout_prob=0.0,
                                        attention_probs_dropout_prob=0.0)
    transformers.RobertaForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_tiny_hf_roberta_learns(labelled, tmp_path):
    folder = tiny_roberta(tmp_path / "roberta")
    cfg = gpt_cfg(labelled, epochs=2)
    cfg = dataclasses.replace(cfg, model=ClassifierConfig(source=f"hf:{folder}", block_size=16),
                              optim=OptimConfig(lr=3e-3, weight_decay=0.0))
    summary = classify.run(cfg, ctx_for(tmp_path))
    assert summary["best_val_accuracy"] >= 0.9 and summary["test_accuracy"] >= 0.9
    saved = from_dict(rundir.read_json(Path(summary["run_dir"]) / rundir.CONFIG))
    assert saved.model.n_classes == 2 and saved.model.source == f"hf:{folder}"
    with pytest.raises(UserError, match="exceeds .* 40 positions"):
        classify.run(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, block_size=64)),
                     ctx_for(tmp_path))


def test_init_from_a_language_model_run_loads_its_backbone_and_tokenizer(labelled, tmp_path):
    import torch
    from gpt.batches import TokenStream
    from gpt.tokenizer import CharTokenizer, save_tokenizer
    from gpt.trainer import train
    text = "".join(read_tsv(labelled / "train.tsv")[0]) * 3
    tok = CharTokenizer.from_text(text)
    lm_dir = tmp_path / "lm"
    lm = RunConfig(name="lm", device="cpu", model=GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2,
                                                            n_embd=32, block_size=32, dropout=0.0),
                   train=TrainConfig(max_iters=3, batch_size=4, eval_interval=3, eval_iters=1, progress="off"))
    train(lm, lm_dir, TokenStream({s: np.array(tok.encode(text)) for s in ("train", "val")}, 32))
    save_tokenizer(tok, lm_dir / "tokenizer.json")
    cfg = dataclasses.replace(gpt_cfg(labelled), init_from=str(lm_dir))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    splits = {"train": read_tsv(labelled / "train.tsv")}
    filled, model, _, _, tokenizer = classify.build_classifier(cfg, run_dir, splits, 2)
    assert filled.model.backbone == lm.model and filled.model.vocab_size == tok.vocab_size
    lm_weights = load_checkpoint(lm_dir / rundir.BEST)["model"]
    assert all(torch.equal(v, lm_weights[k]) for k, v in model.gpt.state_dict().items())
    assert tokenizer.to_json() == tok.to_json()      # the run saves it (jobs/stage.py)
    with pytest.raises(UserError, match="not a finished language-model run"):
        classify.build_classifier(dataclasses.replace(cfg, init_from=str(tmp_path)), run_dir, splits, 2)


def test_report_shows_accuracy_curves_and_the_grid_with_the_best_in_bold(labelled, tmp_path):
    from reports.build import build_report
    for lr in ("1e-4", "3e-3"):
        cfg = apply_overrides(gpt_cfg(labelled, epochs=1), [f"optim.lr={lr}", f"name=lr{lr}"])
        classify.run(cfg, ctx_for(tmp_path))
    index = build_report([tmp_path / "runs"], tmp_path / "report", log=lambda _: None)
    text = index.read_text()
    assert "## Classification accuracy" in text
    rows = [line for line in (tmp_path / "report" / "classify.md").read_text().splitlines()
            if line.startswith("| lr")]
    assert len(rows) == 2 and "**" in rows[0] and "**" not in rows[1]   # best first, in bold
    best = max(json.loads(p.read_text())["best_val_accuracy"]
               for p in (tmp_path / "runs" / "classify").glob("*/summary.json"))
    assert f"**{best:.4f}**" in rows[0]
    assert len(list((tmp_path / "report" / "runs").glob("classify__*/accuracy.png"))) == 2


def test_a_saved_hf_dataset_is_read_with_its_column_names(labelled, tmp_path):
    datasets = pytest.importorskip("datasets")
    parts = {}
    for split, name in (("train", "train"), ("valid", "validation"), ("test", "test")):
        texts, labels = read_tsv(labelled / f"{split}.tsv")
        parts[name] = datasets.Dataset.from_dict({"sentence": texts, "label": [int(v == "upbeat") for v in labels]})
    datasets.DatasetDict(parts).save_to_disk(str(tmp_path / "hfset"))
    cfg = apply_overrides(gpt_cfg(tmp_path / "hfset", epochs=1), ["data.text_column=sentence"])
    from jobs.classify_data import read_splits
    splits = read_splits(cfg.data, ctx_for(tmp_path))
    assert splits["val"][0] == read_tsv(labelled / "valid.tsv")[0] and set(splits["train"][1]) == {"0", "1"}
    with pytest.raises(UserError, match="not 'text'; set data.text_column"):
        read_splits(dataclasses.replace(cfg.data, text_column="text"), ctx_for(tmp_path))


@pytest.mark.parametrize("overrides, message", [
    (["model.n_classes=3"], "model.n_classes=3 but the data has 2 labels"),
    (["model.source=hf:roberta-base", "init_from=/nonexistent"], "drop one of them"),
    (["data.dataset=/nonexistent"], "not sst2-sentences, sst2, smoke-sources, or a folder"),
    (["data.test_split=holdout"], "has no holdout.tsv"),
])
def test_hostile_options_are_one_line_errors(labelled, tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        classify.run(apply_overrides(gpt_cfg(labelled), overrides), ctx_for(tmp_path))
