"""LSTM language model of IFT6135 A2, with the same contract as GPT, plus its recurrent state.

    model = LSTMLM(LSTMConfig(vocab_size=65, n_embd=64, hidden_size=128, n_layer=2))
    logits, loss = model(idx, targets, mask)           # idx (B, T) -> logits (B, T, vocab)
    logits, state = model.forward_with_state(idx)      # state = (h, c), each (n_layer, B, H)
    logits, state = model.forward_with_state(nxt, state)   # continue where it stopped
    log_probas, state = model.course_forward(idx, model.initial_states(B))   # IFT6135 A2's contract
    loss = model.course_loss(log_probas, targets, mask)                      # and its loss

Shape: embedding (V, E) -> LSTM stack (E -> H) -> MLP head H -> E -> ReLU -> V, whose last
layer shares its weight with the embedding (IFT6135 A2's tied classifier). As IFT6135's LSTM,
the forward can start from a given state and returns the final one (`forward_with_state`);
sampling carries it token by token instead of re-reading a cropped window.

IFT6135 A2 (Problem 1) states the contract of its LSTM as `forward(inputs, hidden_states) ->
(log_probas, hidden_states)`: log-probabilities (not logits) of the next token, and the final
(h, c); `loss(log_probas, targets, mask)` is the NLL averaged over each sequence's real tokens,
then over the batch; `initial_states(batch_size)` gives zeros. `course_forward`, `course_loss`
and `initial_states` are that contract on this model. `forward` itself keeps the contract every
model of the toolkit shares with the trainer, `(logits, loss)`: the trainer's loss is computed
from logits in float32 (F.cross_entropy applies the log-softmax), the same numbers as the
course's NLL of log_softmax(logits).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

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
        """All parameters, trainable and frozen, tied weights once (apart: gpt.param_counts)."""
        return sum(p.numel() for p in self.parameters())

    def forward_with_state(self, idx: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """idx (B, T), state (h, c) or None (zeros) -> (logits (B, T, V), final state (h, c))."""
        out, state = self.lstm(self.drop(self.wte(idx)), state)   # (B, T, H)
        return self.lm_head(self.head(self.drop(out))), state      # (B, T, V)

    def forward(self, idx, targets=None, mask=None, state: State | None = None):
        """idx (B, T) -> (logits (B, T, V), loss or None), from `state` (zeros when None)."""
        logits, _ = self.forward_with_state(idx, state)
        return logits, (lm_loss(logits, targets, mask) if targets is not None else None)

    def initial_states(self, batch_size: int, device=None) -> State:
        """IFT6135's initial state: zeros h, c, each (n_layer, batch_size, hidden_size)."""
        device = device if device is not None else self.wte.weight.device
        shape = (self.cfg.n_layer, batch_size, self.cfg.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def course_forward(self, inputs: torch.Tensor, hidden_states: State | None = None
                       ) -> tuple[torch.Tensor, State]:
        """IFT6135 A2's forward: inputs (B, T), hidden_states (h, c) -> (log_probas (B, T, V), the
        final (h, c)); log_probas[b, t, i] = log p(x_{t+1} = i | x_{0..t})."""
        logits, state = self.forward_with_state(inputs, hidden_states)
        return F.log_softmax(logits.float(), dim=-1), state

    def course_loss(self, log_probas: torch.Tensor, targets: torch.Tensor,
                    mask: torch.Tensor | None) -> torch.Tensor:
        """IFT6135 A2's loss: -(1/T_b) sum_t log p(w_{t+1}) over each sequence's real (mask 1)
        tokens, averaged over the batch. log_probas (B, T, V), targets and mask (B, T)."""
        return lm_loss(log_probas, targets, mask, reduction="sequence")   # log_softmax is idempotent
