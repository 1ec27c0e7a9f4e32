"""What a GPU node's image has: torch (often older: 2.11 with CUDA 13 is common), numpy, pandas,
matplotlib, tokenizers, pytest, but not submitit. So an inline run (`--executor inline`, what a
compute node runs) must not import submitit, and the code that runs on a GPU must use no torch API
newer than torch 2.11 (issue 22). Both are checked here on the CPU."""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OLDEST_TORCH = (2, 11)
# What runs with device=cuda: the library (models, attention, trainer, device, perf, prefetch,
# data parallel), the two jobs that measure the GPU, and the GPU tests themselves.
CUDA_PATH = sorted([*(REPO / "gpt").rglob("*.py"), REPO / "jobs" / "tools" / "bench.py",
                    REPO / "jobs" / "cpu_gpu_comparison.py", *(REPO / "tests" / "gpu").glob("*.py")])

# Every torch name the CUDA path uses -> (a release that has it, keyword arguments used that the
# same release takes). The release is the one the API appeared in per torch's docs and release
# notes (e.g. torch.compile 2.0, torch.nn.attention.sdpa_kernel 2.3, LayerNorm(bias=) 2.1,
# torch.load(weights_only=) 1.13); for the ancient ones (tensor ops, nn layers) 1.0 means "already in
# 1.0". A keyword added later than its function has its own `name(kw=)` entry. Each listed name is
# also resolved in the installed torch below, so the list holds no typo and nothing since removed
# (torch does not remove an API and bring it back: present before 2.11 and in today's torch means
# present in 2.11). allow_tf32 is the pre-2.9 TF32 switch: deprecated in favour of fp32_precision
# (2.9, too new for older images), still present in 2.13.
TORCH_APIS: dict[str, tuple[str, str]] = {
    "torch.Generator": ("1.0", ""), "torch.Tensor": ("1.0", ""), "torch.__version__": ("1.0", ""),
    "torch.version.cuda": ("1.0", ""), "torch.device": ("1.0", ""), "torch.no_grad": ("1.0", ""),
    "torch.bool": ("1.2", ""), "torch.long": ("1.0", ""), "torch.float32": ("1.0", ""),
    "torch.float64": ("1.0", ""), "torch.bfloat16": ("1.5", ""),
    "torch.arange": ("1.0", "device dtype"), "torch.cat": ("1.0", "dim"), "torch.cos": ("1.0", ""),
    "torch.sin": ("1.0", ""), "torch.einsum": ("1.0", ""), "torch.empty": ("1.0", ""),
    "torch.exp": ("1.0", ""), "torch.log": ("1.0", ""), "torch.sqrt": ("1.0", ""),
    "torch.tanh": ("1.0", ""), "torch.sigmoid": ("1.0", ""), "torch.softmax": ("1.0", "dim"),
    "torch.from_numpy": ("1.0", ""), "torch.full": ("1.0", ""), "torch.isfinite": ("1.0", ""),
    "torch.multinomial": ("1.0", "generator"), "torch.ones": ("1.0", "device dtype"),
    "torch.ones_like": ("1.0", ""), "torch.zeros": ("1.0", "device dtype"), "torch.tensor": ("1.0", "device dtype"),
    "torch.randint": ("1.0", "device"), "torch.randn": ("1.0", "device"), "torch.sort": ("1.0", "dim descending"),
    "torch.stack": ("1.0", "dim"), "torch.topk": ("1.0", "dim"), "torch.tril": ("1.0", ""),
    "torch.manual_seed": ("1.0", ""), "torch.default_generator.manual_seed": ("1.0", ""),
    "torch.get_num_threads": ("1.0", ""),
    "torch.save": ("1.0", ""), "torch.load": ("1.0", "map_location"), "torch.load(weights_only=)": ("1.13", ""),
    "torch.linalg.qr": ("1.8", ""), "torch.linalg.svd": ("1.8", ""), "torch.linalg.svdvals": ("1.9", ""),
    # mixed precision, compile, TF32
    "torch.autocast": ("1.10", "device_type dtype enabled"), "torch.compile": ("2.0", ""),
    "torch.backends.cuda.matmul.allow_tf32": ("1.7", ""), "torch.backends.cudnn.allow_tf32": ("1.7", ""),
    # CUDA device, memory and sync
    "torch.cuda.is_available": ("1.0", ""), "torch.cuda.device_count": ("1.0", ""),
    "torch.cuda.get_device_name": ("1.0", ""), "torch.cuda.set_device": ("1.0", ""),
    "torch.cuda.synchronize": ("1.0", ""), "torch.cuda.memory_allocated": ("1.0", ""),
    "torch.cuda.max_memory_allocated": ("1.0", ""), "torch.cuda.memory_reserved": ("1.4", ""),
    "torch.cuda.reset_peak_memory_stats": ("1.4", ""),
    # data parallel
    "torch.distributed.init_process_group": ("1.0", "init_method rank timeout world_size"),
    "torch.distributed.is_initialized": ("1.0", ""), "torch.distributed.barrier": ("1.0", "group"),
    "torch.distributed.new_group": ("1.0", "backend timeout"), "torch.distributed.DistError": ("2.2", ""),
    "torch.eye": ("1.0", ""), "torch.randperm": ("1.0", "generator"), "torch.nn.functional.pad": ("1.0", ""),
    "torch.nn.functional.dropout": ("1.0", ""), "torch.nn.functional.log_softmax": ("1.0", "dim"),
    "torch.distributed.all_reduce": ("1.0", "op"), "torch.distributed.ReduceOp.SUM": ("1.0", ""),
    "torch.distributed.ReduceOp.MIN": ("1.0", ""), "torch.distributed.all_gather_object": ("1.8", ""),
    "torch.distributed.destroy_process_group": ("1.0", ""),
    "torch.nn.parallel.DistributedDataParallel": ("1.0", "device_ids broadcast_buffers"),
    # modules, functions, initialisers, optimizers
    "torch.nn.Module": ("1.0", ""), "torch.nn.ModuleList": ("1.0", ""), "torch.nn.Sequential": ("1.0", ""),
    "torch.nn.Parameter": ("1.0", ""), "torch.nn.Linear": ("1.0", "bias"), "torch.nn.Embedding": ("1.0", ""),
    "torch.nn.LayerNorm": ("1.0", ""), "torch.nn.LayerNorm(bias=)": ("2.1", ""), "torch.nn.Dropout": ("1.0", ""),
    "torch.nn.ReLU": ("1.0", ""), "torch.nn.GELU": ("1.4", ""), "torch.nn.Identity": ("1.2", ""),
    "torch.nn.LSTM": ("1.0", "batch_first dropout num_layers"),
    "torch.nn.functional.cross_entropy": ("1.0", "reduction"), "torch.nn.functional.elu": ("1.0", ""),
    "torch.nn.functional.gelu": ("1.4", ""), "torch.nn.functional.normalize": ("1.0", "dim"),
    "torch.nn.functional.scaled_dot_product_attention": ("2.0", "attn_mask dropout_p is_causal"),
    "torch.nn.functional.scaled_dot_product_attention(scale=)": ("2.1", ""),
    "torch.nn.attention.sdpa_kernel": ("2.3", ""), "torch.nn.attention.SDPBackend": ("2.3", ""),
    "torch.nn.attention.SDPBackend.FLASH_ATTENTION": ("2.3", ""),
    "torch.nn.attention.SDPBackend.CUDNN_ATTENTION": ("2.5", ""),
    "torch.nn.init.normal_": ("1.0", ""), "torch.nn.init.zeros_": ("1.0", ""),
    "torch.nn.init.xavier_uniform_": ("1.0", ""), "torch.nn.utils.clip_grad_norm_": ("1.0", ""),
    "torch.optim.Optimizer": ("1.0", ""), "torch.optim.SGD": ("1.0", "lr momentum"),
    "torch.optim.Adagrad": ("1.0", "lr"), "torch.optim.Adam": ("1.0", "lr betas"),
    "torch.optim.Adam(fused=)": ("2.0", ""), "torch.optim.AdamW": ("1.2", "lr betas"),
    "torch.optim.AdamW(fused=)": ("2.0", ""),
    "torch.utils.tensorboard.SummaryWriter": ("1.2", "log_dir"),   # train.loggers=tensorboard
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def torch_uses(path: Path) -> set[str]:
    """Torch names a file uses: `torch.a.b` chains (through `import torch.x as y` and `from torch.x
    import z` aliases) and `name(kw=)` for each keyword argument of a call to one."""
    tree = ast.parse(path.read_text(), filename=str(path))
    alias, uses = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "torch":
                    alias[a.asname or "torch"] = a.name if a.asname else "torch"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "torch":
            for a in node.names:
                alias[a.asname or a.name] = f"{node.module}.{a.name}"
                uses.add(f"{node.module}.{a.name}")

    def resolve(node) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        return ".".join([alias[node.id], *reversed(parts)]) if isinstance(node, ast.Name) and node.id in alias else None

    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}   # a.b of a.b.c
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner and (name := resolve(node)):
            uses.add(name)
        elif isinstance(node, ast.Name) and id(node) not in inner and node.id in alias and node.id != "torch":
            uses.add(alias[node.id])
        if isinstance(node, ast.Call) and (name := resolve(node.func)):
            uses.update(f"{name}({k.arg}=)" for k in node.keywords if k.arg)
    return uses


def _allowed(use: str) -> bool:
    if use in TORCH_APIS:
        return True
    name, _, kw = use.partition("(")
    return bool(kw) and name in TORCH_APIS and kw.removesuffix("=)") in TORCH_APIS[name][1].split()


def test_the_cuda_path_uses_only_listed_torch_apis():
    unlisted = sorted({f"{use}  ({path.relative_to(REPO)})" for path in CUDA_PATH
                       for use in torch_uses(path) if not _allowed(use)})
    assert unlisted == [], ("torch APIs not in TORCH_APIS (look up the release that added each; "
                            "one newer than 2.11 needs a fallback): " + "; ".join(unlisted))


def test_every_listed_api_is_older_than_2_11_and_exists_in_this_torch():
    for name, (since, keywords) in TORCH_APIS.items():
        assert _version(since) <= OLDEST_TORCH, f"{name} needs torch {since}"
        base, _, kw = name.partition("(")
        obj = _resolve(base)
        wanted = keywords.split() + ([kw.removesuffix("=)")] if kw else [])
        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):      # a C builtin without a signature: its existence is checked
            continue
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            assert set(wanted) <= set(params), f"{base} takes no {set(wanted) - set(params)}"


def _resolve(dotted: str):
    """The object a dotted torch name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(dotted)


def test_the_scanner_sees_aliases_keywords_and_from_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("import torch\nimport torch.distributed as dist\nfrom torch.nn import functional as F\n"
                      "from torch.nn.attention import sdpa_kernel\n"
                      "x = torch.optim.AdamW(params, fused=True)\ndist.all_reduce(t)\nF.gelu(x)\n"
                      "torch.backends.cuda.matmul.fp32_precision = 'tf32'\n")
    uses = torch_uses(source)
    assert {"torch.optim.AdamW", "torch.optim.AdamW(fused=)", "torch.distributed.all_reduce",
            "torch.nn.functional.gelu", "torch.nn.attention.sdpa_kernel",
            "torch.backends.cuda.matmul.fp32_precision"} <= uses
    assert not _allowed("torch.backends.cuda.matmul.fp32_precision")     # 2.9: not listed, refused


# runs `python main.py ARGS` with submitit made unimportable, as on an image without it
NO_SUBMITIT = """
import runpy, sys
sys.modules["submitit"] = None          # `import submitit` now raises ModuleNotFoundError
sys.argv = ["main.py", *sys.argv[1:]]
runpy.run_path("main.py", run_name="__main__")
"""


def test_an_inline_run_works_without_submitit(tmp_path, data_root):
    args = ["full_run", "--preset", "smoke", "--executor", "inline", "train.max_iters=4",
            "train.eval_interval=2", "train.eval_iters=1", "train.log_interval=2", "sample.max_new_tokens=4",
            "--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
            "--cache-dir", str(tmp_path / "cache")]
    res = subprocess.run([sys.executable, "-c", NO_SUBMITIT, *args], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    [summary] = (tmp_path / "runs" / "full_run").glob("*/summary.json")
    assert json.loads(summary.read_text())["status"] == "completed"


def test_the_local_executor_says_in_one_line_that_it_needs_submitit(tmp_path):
    """Without submitit, `--executor local` is the one path that cannot run: it says so, writes nothing."""
    res = subprocess.run([sys.executable, "-c", NO_SUBMITIT, "full_run", "--preset", "smoke", "--executor",
                          "local", "--runs-root", str(tmp_path / "runs")], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip() == ("error: --executor local needs submitit, which is not installed here "
                                  "(pip install submitit); --executor inline runs without it")
    assert not (tmp_path / "runs").exists()
