"""gpt/perf.py (peak table, FLOPs per token) and `bench train --compare plain` at toy size on CPU."""
import argparse

import pytest
import torch

from gpt import build_model
from gpt.config import GPTConfig
from gpt.perf import device_peak, flops_per_token, mfu_pct, peak_for_name
from jobs.tools.bench import bench_train


@pytest.mark.parametrize("name, tflops", [
    ("NVIDIA H100 80GB HBM3", 989), ("NVIDIA H100 PCIe", 756), ("NVIDIA H100 NVL", 835),
    ("NVIDIA H200", 989), ("NVIDIA A100-SXM4-80GB", 312), ("NVIDIA A100 80GB PCIe", 312),
    ("NVIDIA L40S", 362), ("NVIDIA L40", 181), ("NVIDIA L4", 121), ("NVIDIA A10", 125),
    ("Tesla V100-SXM2-32GB", 125), ("Tesla V100-PCIE-16GB", 112), ("Tesla T4", 65)])
def test_peak_table_matches_the_names_torch_reports(name, tflops):
    assert peak_for_name(name) == tflops * 1e12


def test_unknown_gpus_and_cpus_get_no_mfu_and_a_reason():
    assert peak_for_name("NVIDIA Quantum X9000") is None
    peak, why = device_peak(torch.device("cpu"))
    assert peak is None and "CUDA only" in why
    assert mfu_pct(1e9, 1e3, None) is None and mfu_pct(1e9, 1e3, 1e13) == pytest.approx(10.0)


def test_flops_per_token_of_gpt2_small_is_nanogpts_figure():
    cfg = GPTConfig(vocab_size=50304, n_layer=12, n_head=12, n_embd=768, block_size=1024)
    n = build_model(cfg).num_params()
    # nanoGPT's estimate_mfu: 6 N (N without position embeddings) + 12 L C T
    assert flops_per_token(cfg, n) == 6 * (n - 1024 * 768) + 12 * 12 * 768 * 1024


def test_bench_train_times_the_trainer_against_a_plain_loop():
    args = argparse.Namespace(preset="jhu-nano", model="gpt-nano", block_size=8, batch_size=2, vocab_size=8192,
                              steps=2, warmup=1, device="cpu", compile=False, compare="plain")
    out = bench_train(args)
    assert out["ms_per_step"] > 0 and out["plain"]["ms_per_step"] > 0 and out["windows_timed"] >= 2
    assert out["trainer_vs_plain"] == pytest.approx(out["tokens_per_s"] / out["plain"]["tokens_per_s"])
    assert out["mfu_pct"] is None and "CUDA only" in out["mfu_omitted"]
