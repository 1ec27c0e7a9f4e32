"""LSTM language model of IFT6135 A2, with the same contract as GPT, plus its recurrent state.

    model = LSTMLM(LSTMConfig(vocab_size=65, n_embd=64, hidden_size=128, n_layer=2))
    logits, loss = model(idx, targets, mask)           # idx (B, T) -> logits (B, T, vocab)
    logits, state = model.forward_with_state(idx)      # state = (h, c), each (n_layer, B, H)
    logits, state = model.forward_with_state(nxt, state)   # continue where it stopped

Shape: embedding (V, E) -> LSTM stack (E -> H) -> MLP head H -> E -> ReLU -> V, whose last
layer shares its weight with the embedding (IFT6135 A2's tied classifier). As IFT6135's LSTM,
the forward can start from a given state and returns the final one (`forward_with_state`);
sampling carries it token by token instead of re-reading a cropped window.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from gpt.config import LSTMConfig
from gpt.loss import lm_loss

State = tuple[torch.Tensor, torch.Tensor]


class LSTMLM(nn.Module):
    """Embedding -> LSTM -> MLP head tied to the embedding; no context limit."""

    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        if cfg.vocab_size <= 0:
            raise ValueError("LSTMConfig.vocab_size is 0: set it from the tokenizer before building")
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(cfg.n_embd, cfg.hidden_size, num_layers=cfg.n_layer, batch_first=True,
                            dropout=cfg.dropout if cfg.n_layer > 1 else 0.0)
        self.head = nn.Sequential(nn.Linear(cfg.hidden_size, cfg.n_embd), nn.ReLU())
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        # small embedding init: with a tied head the first logits are ~0, so loss starts at ln(V)
        nn.init.normal_(self.wte.weight, 0.0, 0.02)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        else:
            nn.init.normal_(self.lm_head.weight, 0.0, 0.02)

    def num_params(self) -> int:
        """Trainable parameters (embeddings included), for logs and reports."""
        return sum(p.numel() for p in self.parameters())

    def forward_with_state(self, idx: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """idx (B, T), state (h, c) or None (zeros) -> (logits (B, T, V), final state (h, c))."""
        out, state = self.lstm(self.drop(self.wte(idx)), state)   # (B, T, H)
        return self.lm_head(self.head(self.drop(out))), state      # (B, T, V)

    def forward(self, idx, targets=None, mask=None, state: State | None = None):
        """idx (B, T) -> (logits (B, T, V), loss or None), from `state` (zeros when None)."""
        logits, _ = self.forward_with_state(idx, state)
        return logits, (lm_loss(logits, targets, mask) if targets is not None else None)
