"""The CUDA path on a real GPU (marker `gpu`; skipped without CUDA). Run: pytest -q -m gpu tests/gpu

Tolerances are stated per test: bf16 keeps 8 mantissa bits (relative step 2**-8 = 0.0039), so two
orderings of the same bf16 arithmetic differ by a few of those steps, never by more.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gpt import build_model, rundir
from gpt.batches import TokenStream
from gpt.config import GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.model import LayerNorm
from gpt.trainer import train
from stop_after import StopAfter

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CUDA = torch.device("cuda")
BF16 = dict(device_type="cuda", dtype=torch.bfloat16)


def _model_cfg(**changes):
    base = dict(vocab_size=128, n_layer=2, n_head=4, n_embd=128, block_size=64, dropout=0.0)
    return GPTConfig(**{**base, **changes})


@pytest.fixture(scope="module")
def stream():
    tokens = np.random.default_rng(0).integers(0, 128, 200_000)
    return TokenStream({"train": tokens, "val": tokens[:20_000]}, 64)


def _cfg(**train):
    t = dict(max_iters=30, batch_size=16, eval_interval=15, eval_iters=2, log_interval=1, progress="off")
    return RunConfig(name="g", device="cuda", model=_model_cfg(), optim=OptimConfig(lr=1e-3, warmup_iters=5),
                     train=TrainConfig(**{**t, **train}))


def _losses(run_dir):
    return np.array([r["loss"] for r in rundir.latest_per_step(
        rundir.read_jsonl(run_dir / rundir.METRICS), "train")])


def test_explicit_and_fused_attention_agree_in_bf16():
    torch.manual_seed(0)
    fused = build_model(_model_cfg(attention="fused")).to(CUDA)
    explicit = build_model(_model_cfg(attention="explicit")).to(CUDA)
    explicit.load_state_dict(fused.state_dict())
    idx = torch.randint(0, 128, (8, 64), device=CUDA)
    with torch.no_grad(), torch.autocast(**BF16):
        lf, loss_f = fused(idx, idx)
        le, loss_e = explicit(idx, idx)
    # logits are O(1): within 0.05 absolute (about 12 bf16 steps), mean loss within 0.01
    assert (lf.float() - le.float()).abs().max().item() < 5e-2
    assert abs(loss_f.item() - loss_e.item()) < 1e-2


def test_sdpa_runs_on_a_flash_or_cudnn_kernel_in_bf16():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    model = build_model(_model_cfg()).to(CUDA)
    idx = torch.randint(0, 128, (4, 64), device=CUDA)
    # only the fast kernels are allowed: a call the model makes that they cannot serve raises here
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION]), torch.autocast(**BF16):
        _, loss = model(idx, idx)
    loss.backward()
    assert torch.isfinite(loss)


def test_manual_layernorm_under_autocast_matches_torch_layernorm():
    torch.manual_seed(0)
    proj = torch.nn.Linear(256, 256).to(CUDA)
    manual, reference = LayerNorm(256).to(CUDA), torch.nn.LayerNorm(256).to(CUDA)
    x = torch.randn(32, 64, 256, device=CUDA) * 3 + 1
    with torch.autocast(**BF16):
        h = proj(x)                                   # bf16 activations, as inside the model
        a, b = manual(h), reference(h)
    assert torch.isfinite(a).all()
    # unit-variance outputs (|y| up to ~5, where one bf16 step is 0.03): within 0.1 at worst and
    # 0.01 on average of torch's LayerNorm, which autocast computes in fp32
    err = (a.float() - b.float()).abs()
    assert err.max().item() < 1e-1 and err.mean().item() < 1e-2


def test_compile_gives_the_eager_loss_curve(stream, tmp_path):
    eager = train(_cfg(), tmp_path / "eager", stream)
    compiled = train(_cfg(compile=True), tmp_path / "compiled", stream)
    assert eager["status"] == compiled["status"] == "completed"
    # same bf16 maths, different fusion and rounding points: per-step losses (~4.8) within 0.05
    # (1 %) over 30 steps
    assert np.abs(_losses(tmp_path / "eager") - _losses(tmp_path / "compiled")).max() < 5e-2


def test_gpu_resume_continues_the_same_curve(stream, tmp_path):
    cfg = _cfg()
    train(cfg, tmp_path / "a", stream)
    assert train(cfg, tmp_path / "b", stream, stop=StopAfter(13))["status"] == "interrupted"
    train(cfg, tmp_path / "b", stream)
    # the same batches, dropout seeds and optimizer state; only GPU atomics may reorder sums
    assert np.abs(_losses(tmp_path / "a") - _losses(tmp_path / "b")).max() < 1e-3


def test_memory_stats_and_mfu_are_in_the_metrics(stream, tmp_path):
    summary = train(_cfg(max_iters=20, log_interval=5), tmp_path / "r", stream)
    rows = rundir.read_jsonl(tmp_path / "r" / rundir.METRICS)
    trains = [r for r in rows if r["kind"] == "train"]
    assert all(r["gpu_mem_peak_allocated_mb"] > 0 and r["gpu_mem_allocated_mb"] > 0 for r in trains)
    start = next(r for r in rows if r["kind"] == "start")
    if "mfu_omitted" in start:                       # a GPU missing from gpt/perf.py: said why
        assert "GPU_PEAK_BF16" in start["mfu_omitted"]
        pytest.skip(start["mfu_omitted"])
    assert all(0 < r["mfu_pct"] < 100 for r in trains) and 0 < summary["mfu_pct"] < 100


def test_cpu_gpu_comparison_end_to_end(data_root, tmp_path):
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, str(root / "main.py"), "cpu_gpu_comparison", "--preset", "smoke",
                          "--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
                          "--cache-dir", str(tmp_path / "cache")],
                         capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert res.returncode == 0, res.stderr[-2000:]
    (comparison,) = (tmp_path / "runs").glob("cpu_gpu_comparison/*/comparison.json")
    result = json.loads(comparison.read_text())
    assert [r["device"] for r in result["rows"]] == ["cpu", "cuda"] and result["speedup"] > 0
