"""Grader-ready report pieces: a run card per run, figures titled with the config name at a
readable size, and legends that say pretrained vs from scratch."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.cards import run_card
from reports.curves import RunPlotter, read_curves
from reports.discover import RunRef
from reports.figures import DPI
from reports.labels import figure_title, group_labels
from reports.load import Run

CONFIG = {"name": "shakespeare-char", "seed": 1337,
          "model": {"arch": "gpt", "n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "dropout": 0.2},
          "data": {"dataset": "tinyshakespeare", "tokenizer": "char"},
          "train": {"max_iters": 5000, "batch_size": 64, "grad_accum": 1},
          "optim": {"name": "adamw", "lr": 1e-3, "schedule": "cosine", "weight_decay": 0.1, "warmup_iters": 100}}
ENV = {"device": "cuda", "device_name": "NVIDIA A100-SXM4-40GB", "cpu_threads": 8, "host": "gpu-17",
       "torch": "2.13.0", "python": "3.11.7", "git_sha": "0123456789abcdef", "git_dirty": False,
       "slurm": {"job_id": "4242", "partition": "gpu"}}
SUMMARY = {"status": "completed", "n_params": 10_745_088, "device": "cuda", "wall_s": 754.2, "steps": 5000,
           "ms_per_step": 150.8, "tokens_per_s": 108_654.3, "attempts": 2}


def _run(name: str, config: dict, job: str = "full_run") -> Run:
    return Run(RunRef(Path(f"/runs/{job}/{name}-1a2b3c4d"), job, job, None), config=config, env=ENV,
               summary=SUMMARY, val=pd.DataFrame(), train=pd.DataFrame())


def test_run_card_has_parameters_hyperparameters_hardware_and_run_time():
    card = dict(run_card(_run("shakespeare-char", CONFIG)).rows)
    assert card["parameters"] == "10,745,088"
    assert card["model"] == "GPT 6 layers, 6 heads, 384 dims, block 256, dropout 0.2"
    assert card["training"] == "5,000 steps, batch 64"
    assert card["optimizer"] == "adamw, lr 0.001, cosine schedule, weight decay 0.1, warmup 100 steps"
    assert card["hardware"] == "cuda (NVIDIA A100-SXM4-40GB), 8 CPU threads on gpu-17, Slurm job 4242 (gpu)"
    assert card["run time"] == "12.6 min of training for 5,000 steps (150.8 ms/step, 108,654 tokens/s), 2 attempts"
    assert card["initialised from"] == "random (from scratch)" and card["data"] == "tinyshakespeare (char tokens)"


def test_run_card_of_a_run_without_files_shows_dashes():
    bare = Run(RunRef(Path("/runs/job/x-00000000"), "job", "job", None))
    card = dict(run_card(bare).rows)
    assert card["parameters"] == "—" and card["run time"].startswith("—")


def test_run_figures_are_titled_with_the_config_name_and_readable_size():
    run = _run("shakespeare-char", CONFIG)
    rows = [{"kind": "train", "step": s, "loss": 3.0 - s / 10, "ppl": 20.0} for s in range(3)]
    loss_fig, ppl_fig = RunPlotter().draw(read_curves(rows), figure_title(run))
    assert loss_fig.axes[0].get_title() == "full_run shakespeare-char: loss"
    width, height = loss_fig.get_size_inches() * DPI
    assert width >= 1200 and height >= 750


def test_finetune_legend_says_pretrained_or_from_scratch():
    pretrained = {**CONFIG, "init_from": "/runs/pretrain/p-1", "train": {**CONFIG["train"], "epochs": 10}}
    scratch = {**CONFIG, "init_from": "", "train": {**CONFIG["train"], "epochs": 75}}
    labels = group_labels([_run("ft-pretrained", pretrained, "finetune"), _run("ft-scratch", scratch, "finetune")])
    assert list(labels.values()) == ["pretrained epochs=10", "from scratch epochs=75"]
