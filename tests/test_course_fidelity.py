"""Course presets match the original code: CS224n model/data/decay groups, IFT6135 model/optimizer/loss."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from gpt import build_model
from gpt.birthplace import CharCorruptionDataset, NameDataset, birthplace_vocabulary
from gpt.config import ConfigError, GPTConfig, OptimConfig, model_preset
from gpt.loss import lm_loss
from gpt.optim import make_optimizer
from gpt.tokenizer import MASK_CHAR, PAD_CHAR
from jobs import finetune, pretrain, sweeps
from jobs.birthplace_data import read_documents, read_pairs


def test_cs224n_preset_untied_zero_positions_plain_init():
    cfg = model_preset("cs224n", vocab_size=50)
    model = build_model(cfg)
    assert model.lm_head.weight.data_ptr() != model.wte.weight.data_ptr()
    assert torch.count_nonzero(model.wpe.weight) == 0
    # no GPT-2 residual scaling: every projection has std ~0.02 (scaled would be 0.02/sqrt(8))
    assert 0.018 < model.blocks[0].attn.proj.weight.std() < 0.022
    assert 0.018 < model.blocks[0].mlp.proj.weight.std() < 0.022
    default = build_model(GPTConfig(vocab_size=50, n_layer=4))   # today's default unchanged
    assert default.lm_head.weight is default.wte.weight and default.blocks[0].mlp.proj.weight.std() < 0.009


def original_name_examples(text: str, stoi: dict, block_size: int):
    """CS224n NameDataset, re-derived from its described behaviour: the file stripped to ASCII
    and split on newlines (the last, empty piece dropped); x = inp⁇oup⁇ padded to block_size,
    targets PAD over the question except its last position, then the rest; both cut to T-1."""
    lines = text.encode("utf-8").decode("ascii", errors="ignore").split("\n")[:-1]
    out = []
    for line in lines:
        inp, oup = line.split("\t")
        full = inp + MASK_CHAR + oup + MASK_CHAR
        full += PAD_CHAR * (block_size - len(full))
        y = PAD_CHAR * (len(inp) - 1) + full[len(inp):]
        out.append(([stoi[c] for c in full[:-1]], [stoi[c] for c in y]))
    return out


def test_name_dataset_equals_original_on_all_training_lines(data_root):
    folder = data_root / "birth_places"
    tok = birthplace_vocabulary((folder / "wiki.txt").read_text(encoding="utf-8"))
    text = (folder / "birth_places_train.tsv").read_text(encoding="utf-8")
    original = original_name_examples(text, tok.stoi, 128)
    pairs = read_pairs(folder / "birth_places_train.tsv", ascii=True)   # what finetune reads
    ours = NameDataset({"train": pairs}, tok, 128)
    assert len(original) == ours.size("train") == 2000
    for i, (x_orig, y_orig) in enumerate(original):
        x, y, mask = ours.example("train", i, None)
        assert x.tolist() == x_orig
        # the original's loss ignores PAD targets (ignore_index=0): ours masks the same ones
        assert np.where(mask > 0, y, tok.pad_id).tolist() == y_orig
        assert (mask > 0).tolist() == [t != tok.pad_id for t in y_orig]
    assert sum(a != b for a, b in zip(pairs, read_pairs(folder / "birth_places_train.tsv"))) > 0


def test_wiki_keeps_its_empty_last_document(data_root):
    path = data_root / "birth_places" / "wiki.txt"
    tok = birthplace_vocabulary(path.read_text(encoding="utf-8"))
    docs = read_documents(path, keep_empty=True)
    assert len(docs) == len(path.read_text(encoding="utf-8").split("\n")) and docs[-1] == ""
    data = CharCorruptionDataset(docs, tok, 32, keep_empty=True)
    x, y, mask = data.example("train", len(docs) - 1, np.random.default_rng(0))
    assert x[:2].tolist() == [tok.mask_id, tok.mask_id] and mask.sum() == 1   # `⁇⁇□…`


def test_ift6135_presets_have_no_dropout_and_decay_everything():
    runs = sweeps.ift6135_12()
    assert len(runs) == 12
    for run in runs:
        assert run.cfg.model.dropout == 0.0 and run.cfg.model.padding_idx == 0
        assert run.cfg.optim.decay_scope == "all" and run.cfg.train.loss_reduction == "sequence"
    assert model_preset("minigpt1").dropout == 0.0


def test_sequence_loss_equals_direct_computation_on_padded_batch():
    torch.manual_seed(0)
    logits, targets = torch.randn(3, 5, 7), torch.randint(0, 7, (3, 5))
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float32)
    logp = torch.log_softmax(logits, dim=-1)
    per_seq = []
    for b in range(3):
        n = int(mask[b].sum())
        per_seq.append(-sum(logp[b, t, targets[b, t]] for t in range(n)) / n)
    direct = sum(per_seq) / 3
    assert lm_loss(logits, targets, mask, "sequence").item() == pytest.approx(direct.item(), rel=1e-6)
    token = -sum(logp[b, t, targets[b, t]] for b in range(3) for t in range(int(mask[b].sum()))) / 8
    assert lm_loss(logits, targets, mask, "token").item() == pytest.approx(token.item(), rel=1e-6)


def test_decay_scope_all_puts_every_parameter_under_decay():
    model = build_model(model_preset("gpt-nano", vocab_size=11))
    groups = make_optimizer(model, OptimConfig(decay_scope="all", weight_decay=5e-4), "cpu").param_groups
    assert len(groups) == 1 and groups[0]["weight_decay"] == 5e-4
    assert sum(p.numel() for p in groups[0]["params"]) == model.num_params()
    with pytest.raises(ConfigError, match="matrices, all"):
        OptimConfig(decay_scope="some")


# our module names -> the CS224n a5 model.py names of the same tensors (its attention has separate
# key/query/value Linears where ours has one fused qkv; its MLP is nn.Sequential: fc = 0, proj = 2)
CS224N_NAMES = [(r"^wte\.weight$", ["tok_emb.weight"]), (r"^wpe\.weight$", ["pos_emb"]),
                (r"\.ln_(\d)\.", [r".ln\1."]), (r"\.attn\.qkv\.(\w+)$", [r".attn.key.\1", r".attn.query.\1",
                                                                          r".attn.value.\1"]),
                (r"\.mlp\.fc\.", [".mlp.0."]), (r"\.mlp\.proj\.", [".mlp.2."]),
                (r"^lm_head\.weight$", ["head.weight"])]


def cs224n_names(name: str) -> list[str]:
    for pattern, replacements in CS224N_NAMES:
        if re.search(pattern, name):
            return [re.sub(pattern, r, name) for r in replacements]
    return [name]


def original_decays(name: str) -> bool:
    """CS224n trainer.py, from its description: no decay for a parameter whose name contains
    "bias" or "LayerNorm.weight", decay for every other one."""
    return not any(marker in name for marker in ("bias", "LayerNorm.weight"))


def test_cs224n_decay_groups_are_the_originals():
    model = build_model(model_preset("cs224n", vocab_size=256))
    for cfg in (pretrain.default(), pretrain.cosine(), finetune.PRESETS["default"](),
                finetune.PRESETS["pretrained"]()):
        assert cfg.optim.decay_scope == "except_biases"
        groups = make_optimizer(model, cfg.optim, "cpu").param_groups
        decayed = {id(p) for g in groups if g["weight_decay"] == 0.1 for p in g["params"]}
        undecayed = {id(p) for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
        assert len(decayed) + len(undecayed) == len(list(model.parameters()))
        for name, p in model.named_parameters():
            originals = {original_decays(n) for n in cs224n_names(name)}
            assert len(originals) == 1                               # a fused tensor: one verdict
            assert (id(p) in decayed) == originals.pop(), name
    # the difference from the toolkit's default: the original decays LayerNorm gains
    assert id(model.ln_f.weight) in decayed and id(model.wpe.weight) in decayed
    assert id(model.ln_f.bias) in undecayed and id(model.blocks[0].attn.qkv.bias) in undecayed
    matrices = make_optimizer(model, OptimConfig(), "cpu").param_groups
    assert id(model.ln_f.weight) in {id(p) for p in matrices[1]["params"]}
