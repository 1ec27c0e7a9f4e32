"""Speed accounting shared by the trainer and `bench train`: FLOPs per token, device peaks, MFU.

    fpt = flops_per_token(cfg.model, model.num_params())
    peak, why = device_peak(torch.device("cuda"))     # (FLOP/s, None) or (None, reason)
    mfu_pct = 100 * fpt * tokens_per_s / peak

MFU (model FLOPs utilisation, PaLM appendix B) counts the FLOPs the model needs, not the ones the
kernels execute (no recompute, no padding), against the device's dense bf16 tensor-core peak.
"""
from __future__ import annotations

import re

import torch

# Dense (no 2:4 sparsity) bf16 tensor-core peaks in FLOP/s from NVIDIA's data sheets, matched in
# order against torch.cuda.get_device_name() (most specific first: "H100 PCIe" before "H100").
# Data sheets print the sparse figure too: it is exactly twice these.
GPU_PEAK_BF16: tuple[tuple[str, float, str], ...] = (
    (r"H100 PCIe", 756e12, "H100 PCIe"),
    (r"H100 NVL", 835e12, "H100 NVL"),
    (r"H200 NVL", 835e12, "H200 NVL"),
    (r"GH200", 989e12, "GH200 (H100 SXM core)"),
    (r"H200", 989e12, "H200 SXM"),
    (r"H100", 989e12, "H100 SXM"),           # "NVIDIA H100 80GB HBM3" is the SXM part
    (r"B200", 2250e12, "B200"),
    (r"A100", 312e12, "A100 (SXM and PCIe)"),
    (r"L40S", 362e12, "L40S"),
    (r"\bL40\b", 181e12, "L40"),
    (r"\bA40\b", 150e12, "A40"),
    (r"RTX A6000", 155e12, "RTX A6000"),
    (r"\bA10\b", 125e12, "A10"),
    (r"\bL4\b", 121e12, "L4"),
    # no bf16 tensor cores: the fp16 tensor-core peak (bf16 runs far below it there)
    (r"V100.*PCIE", 112e12, "V100 PCIe (fp16 peak; no bf16 tensor cores)"),
    (r"V100", 125e12, "V100 SXM2 (fp16 peak; no bf16 tensor cores)"),
    (r"\bT4\b", 65e12, "T4 (fp16 peak; no bf16 tensor cores)"),
)


def flops_per_token(model_cfg, n_params: int) -> float:
    """Training FLOPs per token: 6 x matmul params (fwd + bwd) + 12 x L x C x T for attention.

    Position-embedding parameters do no matmul work and are left out (as nanoGPT does); the tied
    token embedding counts once, as the output projection it also is.
    """
    if model_cfg.arch != "gpt":
        return 6.0 * n_params
    learned_positions = getattr(model_cfg, "pos_embedding", "learned") == "learned"
    matmul_params = n_params - (model_cfg.block_size * model_cfg.n_embd if learned_positions else 0)
    return 6.0 * matmul_params + 12.0 * model_cfg.n_layer * model_cfg.n_embd * model_cfg.block_size


def device_peak(device: torch.device) -> tuple[float | None, str | None]:
    """(peak FLOP/s, None) for a known GPU, else (None, why MFU is omitted)."""
    if device.type != "cuda":
        return None, f"no peak table for device type {device.type!r} (MFU is reported on CUDA only)"
    name = torch.cuda.get_device_name(device)
    peak = peak_for_name(name)
    if peak is None:
        return None, f"GPU {name!r} is not in gpt/perf.py GPU_PEAK_BF16; add its dense bf16 peak there"
    return peak, None


def peak_for_name(name: str) -> float | None:
    """The dense bf16 peak of a GPU named like torch.cuda.get_device_name() returns, or None."""
    return next((peak for pattern, peak, _ in GPU_PEAK_BF16 if re.search(pattern, name)), None)


def mfu_pct(fpt: float, tokens_per_s: float, peak: float | None, world_size: int = 1) -> float | None:
    """Percent of the total peak (`world_size` devices) the model FLOPs reach; None without a peak."""
    return 100.0 * fpt * tokens_per_s / (peak * world_size) if peak else None


def memory_stats(device: torch.device) -> dict:
    """CUDA allocator figures in MiB (empty dict elsewhere): current, reserved and peak allocated."""
    if device.type != "cuda":
        return {}
    mb = 1024 ** 2
    return {"gpu_mem_allocated_mb": torch.cuda.memory_allocated(device) / mb,
            "gpu_mem_reserved_mb": torch.cuda.memory_reserved(device) / mb,
            "gpu_mem_peak_allocated_mb": torch.cuda.max_memory_allocated(device) / mb}
