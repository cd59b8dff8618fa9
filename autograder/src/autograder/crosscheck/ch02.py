"""Chapter 2 (02_bptt): backpropagation through time, truncated, and gradient clipping.

Chapters 2-4 draw their inputs as the chapter's hidden tests do, sizes included (one of the sizes
a hidden test uses), so that honest code that passes those tests passes these checks: the
cross-check is there to catch a kernel that lied, not to test harder than the tests.
Also :func:`backward_check`, which chapter 4's backward passes use too.
"""

from collections.abc import Callable

import numpy as np

from .ch01 import pick_sizes, rnn_weights
from .spec import Adapter, Check, MakeArgs, Namespace, Rng

RNN_GRADS = ("dx", "dh_prev", "dWxh", "dWhh", "dbh")
SEQ_GRADS = ("dx", "dh0", "dWx", "dWh", "db")
GRAD_TOL = {"rtol": 1e-5, "atol": 1e-7}  # analytical against analytical; the tests allow 1e-6/1e-8 against numerical


def backward_check(forward: str, backward: str, n_inputs: int, n_upstream: int, n_grads: int, *,
                   truncated: bool = False) -> Adapter:
    """An adapter that checks ``backward`` on the cache of the submission's own ``forward``. Its
    arguments are the forward's ``n_inputs`` inputs, then ``n_upstream`` upstream gradients, then
    (``truncated``) the window passed as ``truncate=``; it returns the ``n_grads`` gradients."""

    def adapter(namespace: Namespace, *args: object) -> tuple:
        from .. import guards  # the hidden tests' guard: chain rule, not differences or autodiff

        forwards = [f for name, f in namespace.items() if name.endswith("_forward") and callable(f)]
        out, ran = guards.forward_calls(forwards, namespace[forward], *args[:n_inputs])
        rest = args[n_inputs:]
        keywords = {"truncate": rest[n_upstream]} if truncated else {}
        budget = 2 * ran + 2  # as the hidden tests: the forward may run once more; with truncation a step
        k = keywords.get("truncate")  # backward that recomputes its step runs it up to T * k times
        if isinstance(k, (int, np.integer)):
            budget += (ran - 1) * min(int(k), ran - 1)
        grads = guards.backward_pass(backward, namespace[backward], *rest[:n_upstream], out[-1], forwards=forwards,
                                     forward_budget=budget, **keywords)
        if len(grads) != n_grads:
            raise ValueError(f"{backward} returned {len(grads)} values, not {n_grads}")
        return tuple(grads)

    return adapter


def forward_inputs(rng: Rng) -> tuple:
    N, T, D, H = 2, 4, 3, 5
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), rng.standard_normal((D, H)) / 2,
            rng.standard_normal((H, H)) / 2, rng.standard_normal(H))


def output_inputs(rng: Rng) -> tuple:
    N, T, H, C = 2, 4, 5, 3
    return np.tanh(rng.standard_normal((N, T, H))), rng.standard_normal((H, C)), rng.standard_normal(C)


def scores_inputs(rng: Rng) -> tuple:
    return (rng.standard_normal((2, 4, 3)) * 2.0,)


def cross_entropy_inputs(rng: Rng) -> tuple:
    return rng.standard_normal((2, 4, 3)) * 2.0, rng.integers(0, 3, size=(2, 4))


def step_backward_inputs(rng: Rng) -> tuple:
    N, D, H = pick_sizes(rng, [(3, 4, 5), (1, 2, 3), (4, 5, 2)])
    return (rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H),
            rng.standard_normal((N, H)))


def backward_inputs(rng: Rng) -> tuple:
    N, T, D, H = pick_sizes(rng, [(2, 5, 3, 4), (1, 8, 2, 3), (3, 1, 4, 2)])
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H),
            rng.standard_normal((N, T, H)))


def truncated_inputs(window: Callable[[int], int]) -> MakeArgs:
    """Inputs of the hidden truncation test, with ``truncate = window(T)``: every k the test uses gets a
    check of its own (k = 1 cannot tell the windowed variant from the chunked one, k = 2 can)."""

    def make(rng: Rng) -> tuple:
        N, T, D, H = 2, 6, 3, 4
        return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H),
                rng.standard_normal((N, T, H)), int(window(T)))

    return make


def cross_entropy_backward_inputs(rng: Rng) -> tuple:
    N, T, C = pick_sizes(rng, [(2, 3, 4), (1, 5, 2), (4, 1, 3)])
    return rng.standard_normal((N, T, C)) * 2.0, rng.integers(0, C, size=(N, T))


def output_backward_inputs(rng: Rng) -> tuple:
    N, T, H, C = 2, 3, 4, 5
    return rng.standard_normal((N, T, C)), rng.uniform(-1, 1, (N, T, H)), rng.standard_normal((H, C))


def clip_inputs(rng: Rng) -> tuple:
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4), rng.standard_normal((4, 4)) * 0.1]
    total = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return (*grads, total * float(rng.choice([1 / 3, 2.0])))


def clip_results(namespace: Namespace, g0: np.ndarray, g1: np.ndarray, g2: np.ndarray, max_norm: float) -> tuple:
    """The clipped gradients and their norm, the inputs after the call (unchanged), then all-zero
    gradients clipped: returned as they are, norm 0."""
    inputs = [g0, g1, g2]
    clipped, norm = namespace["clip_by_global_norm"](inputs, max_norm)
    zeros, zero_norm = namespace["clip_by_global_norm"]([np.zeros_like(g) for g in inputs], max_norm)
    return (*(clipped[k] for k in range(3)), norm, *inputs, *(zeros[k] for k in range(3)), zero_norm)


TRUNCATION_WINDOWS = (("1", lambda T: 1), ("2", lambda T: 2), ("T-1", lambda T: T - 1), ("T+3", lambda T: T + 3))

CHECKS = (
    Check("rnn_forward (chapter 1)", "rnn_forward", ("test_forward",), forward_inputs, pick=0),
    Check("output_forward (chapter 1)", "output_forward", ("test_forward",), output_inputs),
    Check("softmax (chapter 1)", "softmax", ("test_forward",), scores_inputs),
    Check("cross_entropy (chapter 1)", "cross_entropy", ("test_forward",), cross_entropy_inputs),
    Check("rnn_step_backward", "rnn_step_backward", ("test_rnn_step_backward",), step_backward_inputs,
          adapter=backward_check("rnn_step_forward", "rnn_step_backward", 5, 1, 5), labels=RNN_GRADS, **GRAD_TOL),
    Check("rnn_backward", "rnn_backward", ("test_rnn_backward",), backward_inputs,
          adapter=backward_check("rnn_forward", "rnn_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
    *(Check(f"rnn_backward with truncate={label}", "rnn_backward", ("test_rnn_backward_truncated",),
            truncated_inputs(window), adapter=backward_check("rnn_forward", "rnn_backward", 5, 1, 5, truncated=True),
            labels=SEQ_GRADS, **GRAD_TOL)
      for label, window in TRUNCATION_WINDOWS),
    Check("cross_entropy_backward", "cross_entropy_backward", ("test_cross_entropy_backward",),
          cross_entropy_backward_inputs, **GRAD_TOL),
    Check("output_backward", "output_backward", ("test_output_backward",), output_backward_inputs,
          pick=(0, 1, 2), labels=("dh", "dWhy", "dby"), **GRAD_TOL),
    Check("clip_by_global_norm", "clip_by_global_norm", ("test_clip_by_global_norm",), clip_inputs,
          adapter=clip_results, labels=("clipped[0]", "clipped[1]", "clipped[2]", "norm", "grads[0] after the call",
                                        "grads[1] after the call", "grads[2] after the call",
                                        *(f"clipped all-zero gradient {k}" for k in range(3)), "norm of zeros")),
)
