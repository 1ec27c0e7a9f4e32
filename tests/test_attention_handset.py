"""Hand-set q/k/v (seed 002 §1, seed 003 §2) through the real explicit attention module: the
plumbing is softmax(K q) V exactly, "select one" and "average two" come out, and the CLI tool
prints every seed case and refuses bad input in one line."""
import pytest
import torch

import main
from gpt.attention.handset import attend, handset_layer
from gpt.attention.softmax import SoftmaxAttention
from jobs.tools.attention_demo import TOLERANCE, seed_cases


def test_the_layer_is_the_real_explicit_module_with_an_unscaled_dot_score():
    layer = handset_layer(3)
    assert isinstance(layer, SoftmaxAttention) and not layer.fused
    assert type(layer.score).__name__ == "Dot"


def test_attend_is_softmax_of_key_dot_query_times_values():
    g = torch.Generator().manual_seed(0)
    K, V, q = (torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((5, 4), (5, 4), (4,)))
    weights, output = attend(q, K, V)
    expected = torch.softmax(K @ q, dim=0)
    assert torch.allclose(weights, expected) and torch.allclose(output, expected @ V)
    Q = torch.randn(5, 4, generator=g, dtype=torch.float64)          # a query per row: causal rows
    weights, outputs = attend(Q, K, V)
    logits = (Q @ K.T).masked_fill(~torch.ones(5, 5, dtype=torch.bool).tril(), float("-inf"))
    assert torch.allclose(weights, torch.softmax(logits, -1)) and torch.allclose(outputs, weights @ V)


def test_select_one_and_average_two():
    cases = {name: case for name, *case in seed_cases()}
    weights, _ = attend(*next(c for n, c in cases.items() if "select v0" in n)[:3])
    assert torch.allclose(weights, torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), atol=1e-6)
    weights, _ = attend(*next(c for n, c in cases.items() if "003 §2b" in n)[:3])
    assert torch.allclose(weights, torch.tensor([0.5, 0, 0.5, 0], dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("name,query,keys,values,target", seed_cases())
def test_every_seed_case_is_within_the_seed_tolerance(name, query, keys, values, target):
    assert (attend(query, keys, values)[1] - target).abs().max() < TOLERANCE, name


def test_the_tool_prints_every_case_and_a_custom_one(capsys):
    assert main.main(["attention_demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("max |error|") == len(seed_cases()) and "NOT within" not in out
    assert main.main(["attention_demo", "--query", "5,5,0", "--keys", "1,0,0;0,1,0;0,0,1",
                      "--values", "1,2;3,4;5,6"]) == 0
    assert "weights [0.4983, 0.4983, 0.0034]" in capsys.readouterr().out


@pytest.mark.parametrize("args,words", [
    (["--query", "1,2"], "shapes do not fit"),
    (["--query", "a,b,c"], "give comma-separated numbers"),
    (["--query", "1,0", "--keys", "1,0;0"], "same number of values"),
    (["--query", "1,0", "--keys", "1,0;0,1", "--values", "1;2;3"], "shapes do not fit"),
    (["--keys", "1,0;0,1"], "need --query"),
    (["--query", ",".join(["1"] * 300), "--keys", ",".join(["1"] * 300), "--values", "1"], "at most 256"),
])
def test_bad_input_is_one_line(capsys, args, words):
    assert main.main(["attention_demo", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and words in err and len(err.splitlines()) == 1
