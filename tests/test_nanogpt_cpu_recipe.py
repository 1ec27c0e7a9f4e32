"""`reproduce nanogpt_char_cpu` runs nanoGPT README's CPU recipe (4/4/128, block 64, batch 12, 2000 iters)."""
from jobs.tools.reproductions import EXPERIMENTS
from jobs.tools.reproduce import references


def test_the_full_scale_config_is_the_readme_recipe():
    (cfg,) = EXPERIMENTS["nanogpt_char_cpu"].configs("full")
    m, t, o = cfg.model, cfg.train, cfg.optim
    assert (m.n_layer, m.n_head, m.n_embd, m.block_size, m.dropout, m.bias) == (4, 4, 128, 64, 0.0, False)
    assert (t.batch_size, t.eval_iters, t.max_iters, t.eval_interval, t.grad_accum) == (12, 20, 2000, 250, 1)
    # train_shakespeare_char.py: lr 1e-3 -> 1e-4 by cosine over max_iters (= lr_decay_iters), warmup
    # 100, beta2 0.99; nanoGPT's defaults: weight decay 0.1, grad clip 1.0
    assert (o.lr, o.min_lr, o.schedule, o.warmup_iters, o.betas, o.weight_decay, o.grad_clip) == (
        1e-3, 1e-4, "cosine", 100, (0.9, 0.99), 0.1, 1.0)
    (smoke,) = EXPERIMENTS["nanogpt_char_cpu"].configs("smoke")
    assert smoke.model == m and smoke.train.max_iters == 100


def test_its_reference_is_the_readme_number():
    refs = references()["nanogpt_char_cpu"]["references"]
    assert [(r["key"], r["value"]) for r in refs] == [("val_loss", 1.88)]
    assert "nanoGPT README" in refs[0]["source"]
