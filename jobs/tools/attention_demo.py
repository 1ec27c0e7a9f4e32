"""Hand-set queries and keys evaluated through the real attention code (UW CSE 447/517 A2 §1, Practical 4 §2).

    python main.py attention_demo                                     # the assignments' cases
    python main.py attention_demo --query 0.47,0.65,0.60              # your q on UW CSE 447/517 A2's K, V
    python main.py attention_demo --query 5,5,0 --keys "1,0,0;0,1,0;0,0,1" --values "1,2;3,4;5,6"

Each case builds a query (and, for §1.4, a changed key) by hand, runs it through the toolkit's
explicit SoftmaxAttention with hand-set W_q, W_k, W_v (gpt/attention/handset.py says how) and
prints the attention weights, the output, the assignment's target and the largest error; UW CSE 447/517 A2
gives full credit within 0.05. Cases: select v0 with q = S k0; average all with q = 0 (every
logit equal) and with q = mean of the keys (a common answer: close, not exact); average v0, v1
with q = 10 (k0 + k1); §1.4's replaced k2 (averaging three; returning v2 with |k2| = 1); select
all with Q = S K (causal rows); Practical 4 §2b's average of two with orthonormal keys.
Scores are unscaled dot products, as in both assignments. Not here: Practical 4 §2e's c_1 ~ u_b - u_c,
which needs x_1 to attend to x_2 and x_3 (bidirectional); the toolkit's attention is causal.
"""
from __future__ import annotations

import argparse

# UW CSE 447/517 A2 §1.2 (d = 3, n = 4)
K002 = [[0.47, 0.65, 0.60], [0.64, 0.50, -0.59], [-0.03, -0.48, -0.88], [0.43, -0.83, 0.35]]
V002 = [[-0.07, -0.88, 0.47], [0.37, -0.93, -0.07], [-0.25, -0.75, 0.61], [0.94, 0.20, 0.28]]
TOLERANCE = 0.05   # UW CSE 447/517 A2: "solutions within a 0.05 error will receive full credit"
S_LARGE = 1000.0   # the assignments' "large number S"
MAX_SIZE = 256     # keys per case and numbers per vector: the hand-set layer holds (9d, 3d) weights


def seed_cases():
    """(name, query, keys, values, target) for every case the seeds ask about."""
    import torch
    K, V = torch.tensor(K002, dtype=torch.float64), torch.tensor(V002, dtype=torch.float64)
    q_two = 10 * (K[0] + K[1])                       # UW CSE 447/517 A2's §1.3.2 answer (S = 10)
    k_avg3, k_unit = K.clone(), K.clone()
    k_avg3[2] = (K[0] + K[1]) / 2                    # q . k2 = mean of q . k0 and q . k1
    k_unit[2] = q_two / q_two.norm()                 # unit key along q: the largest q . k2
    basis, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0),
                                           dtype=torch.float64))
    v003 = torch.randn(4, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return [
        ("002 §1.2.1 select v0: q = S k0", S_LARGE * K[0], K, V, V[0]),
        ("002 §1.2.2 select all: Q = S K (causal rows)", S_LARGE * K, K, V, V),
        ("002 §1.3.1 average all: q = 0", torch.zeros(3, dtype=torch.float64), K, V, V.mean(0)),
        ("002 §1.3.1 average all: q = mean(K)", K.mean(0), K, V, V.mean(0)),
        ("002 §1.3.2 average v0, v1: q = 10 (k0 + k1)", q_two, K, V, V[:2].mean(0)),
        ("002 §1.4.1 average v0..v2: k2 = (k0 + k1) / 2", q_two, k_avg3, V, V[:3].mean(0)),
        ("002 §1.4.2 return v2: k2 = q / |q|", q_two, k_unit, V, V[2]),
        ("003 §2b average v0, v2: orthonormal keys, q = S (k0 + k2)", S_LARGE * (basis[0] + basis[2]),
         basis, v003, (v003[0] + v003[2]) / 2),
    ]


def _vector(text: str, flag: str):
    import torch

    from jobs.errors import UserError
    try:
        return torch.tensor([float(part) for part in text.split(",")], dtype=torch.float64)
    except ValueError:
        raise UserError(f"attention_demo {flag}={text!r}: give comma-separated numbers, rows "
                        "separated by ';' (e.g. \"1,0;0,1\")") from None


def _matrix(text: str, flag: str):
    import torch

    from jobs.errors import UserError
    rows = [_vector(row, flag) for row in text.split(";")]
    if len({len(r) for r in rows}) != 1:
        raise UserError(f"attention_demo {flag}: every row needs the same number of values")
    return torch.stack(rows)


def _fmt(t) -> str:
    """A vector as [a, b, c]; a matrix as its rows joined by '; '."""
    if t.dim() == 2:
        return "; ".join(_fmt(row) for row in t)
    return "[" + ", ".join(f"{x:.4f}" for x in t.tolist()) + "]"


def report(name: str, query, keys, values, target=None, out_width: int | None = None) -> float | None:
    """Run one case through `gpt.attention.handset.attend` and print it (output cut to
    `out_width` channels when the values were padded); the max |error| or None."""
    from gpt.attention.handset import attend
    weights, output = attend(query, keys, values)
    output = output[..., :out_width]
    print(name)
    print(f"  query   {_fmt(query)}")
    print(f"  weights {_fmt(weights)}")
    print(f"  output  {_fmt(output)}")
    if target is None:
        return None
    error = (output - target).abs().max().item()
    verdict = "within" if error < TOLERANCE else "NOT within"
    print(f"  target  {_fmt(target)}   max |error| {error:.4f} ({verdict} {TOLERANCE})")
    return error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--query (and optional --keys, --values) for your own case; without them the assignments' cases."""
    parser.add_argument("--query", default=None,
                        help="your query: d comma-separated numbers, or n rows separated by ';'")
    parser.add_argument("--keys", default=None, help="n rows of d numbers, rows separated by ';' "
                                                     "(default: UW CSE 447/517 A2's K)")
    parser.add_argument("--values", default=None, help="n rows, rows separated by ';' "
                                                       "(default: UW CSE 447/517 A2's V; any width)")


def main(args: argparse.Namespace) -> int:
    """Print the assignments' cases, or the one given by --query/--keys/--values; exit code 0."""
    import torch

    from jobs.errors import UserError
    if args.query is None:
        if args.keys or args.values:
            raise UserError("attention_demo --keys/--values need --query (the query to evaluate)")
        for case in seed_cases():
            report(*case)
        return 0
    keys = _matrix(args.keys, "--keys") if args.keys else torch.tensor(K002, dtype=torch.float64)
    values = _matrix(args.values, "--values") if args.values else torch.tensor(V002, dtype=torch.float64)
    query = _matrix(args.query, "--query") if ";" in args.query else _vector(args.query, "--query")
    n, d = keys.shape
    if max(n, d, values.shape[1]) > MAX_SIZE:
        raise UserError(f"attention_demo: at most {MAX_SIZE} keys and {MAX_SIZE} numbers per vector "
                        f"(got {n} keys of {d}, values of {values.shape[1]}): a demo, not a benchmark")
    if values.shape[0] != n or query.shape[-1] != d or (query.dim() == 2 and query.shape[0] != n):
        raise UserError(f"attention_demo: shapes do not fit: keys {n}x{d}, values "
                        f"{values.shape[0]}x{values.shape[1]}, query {'x'.join(map(str, query.shape))}; "
                        f"want n keys and n values, a query of d={d} numbers (or n rows of d)")
    width = max(d, values.shape[1])   # the layer reads k, v, q slots of one width: pad the narrower
    keys_w, values_w, query_w = (torch.nn.functional.pad(t, (0, width - t.shape[-1]))
                                 for t in (keys, values, query))
    report("your case", query_w, keys_w, values_w, out_width=values.shape[1])
    return 0
