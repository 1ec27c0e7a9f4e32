"""train.epoch_batches=aligned|ordered: epochs as a torch DataLoader (drop_last=False) reads them,
a partial last batch included, counted by the budget and minGPT's token schedule; resume exact."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gpt import rundir
from gpt.batches import ArrayExamples, TokenStream
from gpt.config import ConfigError, GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.epoch_batches import for_training, token_counter
from gpt.loss import lm_loss
from gpt.trainer import total_iters, train
from jobs import finetune, pretrain
from stop_after import StopAfter


def _examples(n: int, t: int = 8, vocab: int = 20) -> ArrayExamples:
    x = np.random.default_rng(0).integers(0, vocab, (n, t))
    mask = np.ones(x.shape, np.float32)
    x[:, 0] = np.arange(n) % vocab          # row i is recognisable by its first token
    return ArrayExamples({"train": (x, np.roll(x, -1, 1), mask), "val": (x[:4], x[:4], mask[:4])})


def _train_cfg(mode: str, **changes) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "batch_size": 4, "eval_interval": 3, "eval_iters": 1,
                          "log_interval": 1, "progress": "off", "epoch_batches": mode, **changes})


def test_650_cs224n_epochs_are_14950_steps_not_14920():
    cfg = pretrain.default()
    assert cfg.train.epoch_batches == "ordered"
    documents = _examples(2938)                                    # wiki.txt's 2,938 documents
    assert total_iters(cfg, for_training(documents, cfg.train)) == (23 * 650, 23)
    assert total_iters(cfg, documents) == (math.ceil(650 * 2938 / 128), 2938 / 128)   # continuous
    for preset in ("default", "pretrained"):
        tune = finetune.PRESETS[preset]()
        steps, per_epoch = total_iters(tune, for_training(_examples(2000), tune.train))
        assert per_epoch == 8 and steps == 8 * tune.train.epochs      # 2,000 pairs, batch 256


@pytest.mark.parametrize("mode", ["aligned", "ordered"])
def test_every_epoch_covers_each_example_once_with_a_partial_last_batch(mode):
    n, b = 10, 4
    batches = for_training(_examples(n), _train_cfg(mode))
    assert batches.batches_per_epoch(b) == 3
    for epoch in range(3):
        firsts = [batches.train_batch(5, epoch * 3 + k, b)[0][:, 0].tolist() for k in range(3)]
        assert [len(f) for f in firsts] == [4, 4, n % b]             # the last holds N mod B
        seen = sum(firsts, [])
        assert sorted(seen) == list(range(n))
        if mode == "ordered":
            assert seen == list(range(n))                            # dataset order, every epoch
    aligned = for_training(_examples(n), _train_cfg("aligned"))
    assert aligned.train_batch(5, 0, b)[0][:, 0].tolist() != aligned.train_batch(5, 3, b)[0][:, 0].tolist()
    assert [batches.examples_before(i, b) for i in range(7)] == [0, 4, 8, 10, 14, 18, 20]


def test_aligned_equals_continuous_when_the_batch_divides_the_epoch():
    examples = _examples(12)
    aligned = for_training(examples, _train_cfg("aligned"))
    for index in range(7):
        for a, c in zip(aligned.train_batch(3, index, 4), examples.train_batch(3, index, 4)):
            assert torch.equal(a, c)


def test_the_partial_batch_loss_is_the_mean_over_its_own_targets_as_minGPT():
    # minGPT: F.cross_entropy(..., ignore_index=0) over whatever rows the loader gave (PAD = 0)
    y = torch.tensor(np.random.default_rng(1).integers(0, 5, (3, 7)))       # 3 rows: a partial batch
    logits = torch.randn(3, 7, 11)
    expected = F.cross_entropy(logits.view(-1, 11), y.view(-1), ignore_index=0)
    assert torch.allclose(lm_loss(logits, y, (y != 0).float()), expected)


def _run(tmp_path, name, cfg, batches, stop=None):
    return train(cfg, tmp_path / name, batches, stop=stop)


def _cfg(mode: str, schedule: str = "constant") -> RunConfig:
    optim = (OptimConfig(lr=6e-3, schedule="mingpt", warmup_tokens=40, final_tokens=200)
             if schedule == "mingpt" else OptimConfig(lr=6e-3))
    return RunConfig(name="e", device="cpu", optim=optim, train=_train_cfg(mode),
                     model=GPTConfig(vocab_size=20, n_layer=1, n_head=1, n_embd=8, block_size=8))


def test_resume_inside_an_epoch_reproduces_the_batches_and_losses(tmp_path):
    cfg, examples = _cfg("ordered", "mingpt"), _examples(10)
    whole = _run(tmp_path, "whole", cfg, examples)
    assert whole["steps"] == 6                                      # 2 epochs of 3 batches
    stopped = _run(tmp_path, "resumed", cfg, examples, stop=StopAfter(4))   # epoch 1, batch 1
    assert stopped["status"] == "interrupted" and stopped["steps"] == 4
    _run(tmp_path, "resumed", cfg, examples)

    def losses(name):
        rows = rundir.latest_per_step(rundir.read_jsonl(tmp_path / name / rundir.METRICS), "train")
        return [(r["step"], r["loss"], r["lr"]) for r in rows]
    assert losses("resumed") == losses("whole") and len(losses("whole")) == 6


def test_mingpt_counts_the_tokens_actually_in_each_batch(tmp_path):
    cfg, examples = _cfg("ordered", "mingpt"), _examples(10)
    _run(tmp_path, "run", cfg, examples)
    rows = rundir.latest_per_step(rundir.read_jsonl(tmp_path / "run" / rundir.METRICS), "train")
    sizes = [4, 4, 2, 4, 4, 2]                                      # rows per batch, two epochs
    for row in rows:                                                # lr set for step row["step"] - 1
        tokens = 8 * sum(sizes[:row["step"] - 1])                   # positions of the earlier batches
        if tokens < 40:
            mult = tokens / 40
        else:
            mult = max(0.1, 0.5 * (1 + math.cos(math.pi * (tokens - 40) / (200 - 40))))
        expected = 6e-3 if row["step"] == 1 else 6e-3 * mult
        assert row["lr"] == pytest.approx(expected, rel=1e-12), row["step"]
    counted = token_counter(for_training(examples, cfg.train), 0, 4, 1)
    assert [counted(s) for s in range(7)] == [8 * sum(sizes[:s]) for s in range(7)]


def test_bad_epoch_batches_settings_are_one_line_errors():
    for kwargs, needle in [({"epoch_batches": "epochwise"}, "continuous, aligned, ordered"),
                           ({"epoch_batches": "ordered", "grad_accum": 2}, "grad_accum=1")]:
        with pytest.raises(ConfigError, match=needle) as err:
            TrainConfig(**kwargs)
        assert "\n" not in str(err.value)
    stream = TokenStream({"train": np.arange(100) % 7, "val": np.arange(50) % 7}, block_size=8)
    with pytest.raises(ConfigError, match="token stream"):
        for_training(stream, _train_cfg("aligned"))
    with pytest.raises(ConfigError, match="2 ranks"):
        for_training(_examples(10), _train_cfg("ordered"), world_size=2)
    assert for_training(stream, _train_cfg("continuous")) is stream   # the default: unchanged
