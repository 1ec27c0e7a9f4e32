"""IFT6135 A2's LSTM contract on the toolkit's LSTM: course_forward(inputs, hidden_states) returns
log-probabilities and the final (h, c); course_loss is the assignment's sequence-averaged NLL, the
same number the trainer's batch_loss gives with train.loss_reduction=sequence."""
import torch

from gpt import build_model
from gpt.config_model import LSTMConfig
from gpt.evaluation import batch_loss

V = 25


def _model():
    torch.manual_seed(0)
    return build_model(LSTMConfig(vocab_size=V, n_embd=8, hidden_size=12, n_layer=2,
                                  padding_idx=0)).eval()


def test_course_forward_returns_log_probabilities_and_the_final_state():
    model = _model()
    idx = torch.randint(1, V, (3, 7), generator=torch.Generator().manual_seed(0))
    h0, c0 = model.initial_states(3)
    assert h0.shape == c0.shape == (2, 3, 12) and not h0.any() and not c0.any()
    log_probas, (h, c) = model.course_forward(idx, (h0, c0))
    assert log_probas.shape == (3, 7, V)
    assert torch.allclose(log_probas.exp().sum(-1), torch.ones(3, 7), atol=1e-5)
    logits, state = model.forward_with_state(idx)
    assert torch.allclose(log_probas, torch.log_softmax(logits, -1), atol=1e-6)
    assert torch.equal(h, state[0]) and torch.equal(c, state[1])
    # the final state continues the sequence: two halves = one pass
    first, mid = model.course_forward(idx[:, :4], (h0, c0))
    second, end = model.course_forward(idx[:, 4:], mid)
    assert torch.allclose(torch.cat([first, second], 1), log_probas, atol=1e-6)
    assert torch.allclose(end[0], h, atol=1e-6)


def test_course_loss_is_the_assignment_formula_and_the_trainers_sequence_loss():
    model = _model()
    g = torch.Generator().manual_seed(1)
    idx, targets = torch.randint(1, V, (4, 6), generator=g), torch.randint(1, V, (4, 6), generator=g)
    mask = torch.ones(4, 6)
    mask[1, 3:] = 0                                                  # a zero-padded sequence
    log_probas, _ = model.course_forward(idx, model.initial_states(4))
    picked = log_probas.gather(-1, targets[..., None])[..., 0]      # (B, T) log p(w_{t+1})
    by_hand = (-(picked * mask).sum(1) / mask.sum(1)).mean()         # -(1/T) sum_t, then batch mean
    loss = model.course_loss(log_probas, targets, mask)
    assert torch.allclose(loss, by_hand, atol=1e-6)
    assert torch.allclose(loss, batch_loss(model, idx, targets, mask, "sequence"), atol=1e-6)
