"""Benchmark: what the backward-pass cost bound (autograder.guards.COST_BOUND) separates.

Hidden tests time a student's backward pass against the student's own forward pass on the same
problem (best of a few runs each) and refuse more than ``COST_BOUND`` times. This prints that
ratio for chapter 2's instructor code (read from solutions/02_bptt, so it measures the graded
exercise) and for honest and dishonest variants of it:

- the chain rule: full BPTT, windowed truncation with k = 2 and k = T - 1;
- honest but slow: a loop over batch rows, loops over single matrix entries;
- differences of the forward pass: over the input weights only, and over every input (what a
  backward pass must return).

    .venv/bin/python benchmarks/backward_guard.py [--sizes 8 20 16 32] [--repeat 3]
"""

import argparse
import sys
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "autograder" / "src"))

from autograder import guards  # noqa: E402


def solution(assignment="02_bptt", notebook="bptt"):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    namespace = {"np": np, "__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)  # noqa: S102
    return namespace


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=4, default=[8, 20, 16, 32], metavar=("N", "T", "D", "H"))
    parser.add_argument("--repeat", type=int, default=3, help="measure each ratio this often, print the range")
    args = parser.parse_args(argv)
    N, T, D, H = args.sizes
    ns = solution()
    rng = np.random.default_rng(0)
    x, h0 = rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H))
    Wxh, Whh, bh = rng.standard_normal((D, H)) / 4, rng.standard_normal((H, H)) / 6, rng.standard_normal(H) * 0.1
    dh = rng.standard_normal((N, T, H))
    _, cache = ns["rnn_forward"](x, h0, Wxh, Whh, bh)

    def row_loop():
        for n in range(N):
            rows = [tuple(a[n:n + 1] if a.ndim == 2 and a.shape[0] == N else a for a in c) for c in cache]
            ns["rnn_backward"](dh[n:n + 1], rows)

    def entry_loops():
        for t in range(T):
            xt, hp, _, _, hn = cache[t]
            da = dh[:, t] * (1 - hn ** 2)
            dW, dU = np.zeros((D, H)), np.zeros((H, H))
            for i in range(D):
                for j in range(H):
                    dW[i, j] = np.dot(xt[:, i], da[:, j])
            for i in range(H):
                for j in range(H):
                    dU[i, j] = np.dot(hp[:, i], da[:, j])

    def loss(a):
        return np.sum(ns["rnn_forward"](*a)[0] * dh)

    def differences(which):
        base = [x, h0, Wxh, Whh, bh]
        for k in which:
            for idx in np.ndindex(base[k].shape):
                values = []
                for step in (1e-5, -1e-5):
                    a = [v.copy() for v in base]
                    a[k][idx] += step
                    values.append(loss(a))

    variants = {
        "full BPTT (chain rule)": lambda: ns["rnn_backward"](dh, cache),
        "windowed truncation, k = 2": lambda: ns["rnn_backward"](dh, cache, truncate=2),
        f"windowed truncation, k = {T - 1}": lambda: ns["rnn_backward"](dh, cache, truncate=T - 1),
        "loop over batch rows": row_loop,
        "loops over single matrix entries": entry_loops,
        "differences over W_xh only": lambda: differences([2]),
        "differences over every input": lambda: differences([0, 1, 2, 3, 4]),
    }
    print(f"rnn_backward against rnn_forward, N={N}, T={T}, D={D}, H={H}; bound {guards.COST_BOUND:.0f}x")
    for name, fn in variants.items():
        ratios = []
        for _ in range(args.repeat if "differences" not in name else 1):
            try:
                ratios.append(guards.backward_cost(name, lambda: ns["rnn_forward"](x, h0, Wxh, Whh, bh), fn,
                                                   bound=float("inf")))
            except AssertionError as exc:  # not with an infinite bound
                raise SystemExit(str(exc)) from None
        verdict = "refused" if min(ratios) > guards.COST_BOUND else "accepted"
        span = f"{min(ratios):8.1f}" + (f" - {max(ratios):.1f}" if len(ratios) > 1 else "")
        print(f"  {name:36s} {span:>20s}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
