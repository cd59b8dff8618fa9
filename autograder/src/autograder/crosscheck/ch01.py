"""Chapter 1 (01_rnn_forward): the forward pass of a vanilla RNN, softmax and cross-entropy.

Also the input helpers later chapters draw with (:func:`rnn_weights`, :func:`pick_sizes`).
"""

from collections.abc import Sequence

import numpy as np

from .spec import Check, Namespace, Rng


def rnn_weights(rng: Rng, D: int, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wxh, Whh and bh, scaled so that tanh stays away from saturation."""
    return rng.standard_normal((D, H)) / np.sqrt(D), rng.standard_normal((H, H)) / np.sqrt(H), rng.standard_normal(H) * 0.5


def pick_sizes(rng: Rng, choices: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """One of ``choices`` (the sizes a hidden test uses), as plain ints."""
    return tuple(int(v) for v in choices[int(rng.integers(len(choices)))])


def step_inputs(rng: Rng) -> tuple:
    N, D, H = rng.integers(1, 6), rng.integers(1, 7), rng.integers(1, 7)
    return (rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H))


def forward_inputs(rng: Rng) -> tuple:
    N, T, D, H = rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 6), rng.integers(1, 6)
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H))


def output_inputs(rng: Rng) -> tuple:
    N, T, H, C = (int(rng.integers(1, 6)) for _ in range(4))
    return rng.uniform(-1, 1, (N, T, H)), rng.standard_normal((H, C)), rng.standard_normal(C)


def softmax_inputs(rng: Rng) -> tuple:
    return (rng.standard_normal((int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 7)))) * 3.0,)


def large_softmax_inputs(rng: Rng) -> tuple:
    scores = rng.standard_normal((3, 4, 5))
    return (scores + rng.choice([-1000.0, 1000.0], size=(3, 4, 1)),)


def cross_entropy_inputs(rng: Rng) -> tuple:
    N, T, C = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(2, 6))
    return rng.standard_normal((N, T, C)) * 2.0, rng.integers(0, C, size=(N, T))


def large_cross_entropy_inputs(rng: Rng) -> tuple:
    """Scores of size 1000, one label far below its row's best score (its probability underflows to 0)."""
    N, T, C = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 6))
    scores, y = rng.standard_normal((N, T, C)) * 1000.0, rng.integers(0, C, size=(N, T))
    y[0, 0] = np.argmin(scores[0, 0])
    scores[0, 0, y[0, 0]] = scores[0, 0].max() - 1500.0
    return scores, y


def loop_inputs(rng: Rng) -> tuple:
    N, T, D, H = pick_sizes(rng, [(2, 5, 3, 4), (1, 9, 2, 3), (4, 1, 5, 2)])
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *rnn_weights(rng, D, H))


def forward_minus_loop(namespace: Namespace, x: np.ndarray, h0: np.ndarray, Wxh: np.ndarray, Whh: np.ndarray,
                       bh: np.ndarray) -> tuple[np.ndarray]:
    """rnn_forward against a loop of the submission's own rnn_step_forward (zero where they agree):
    what test_rnn_forward checks, so a wrong step with a right loop passes it here as well."""
    h = np.asarray(namespace["rnn_forward"](x, h0, Wxh, Whh, bh)[0], dtype=np.float64)
    state, steps = h0, []
    for t in range(x.shape[1]):
        state = namespace["rnn_step_forward"](x[:, t, :], state, Wxh, Whh, bh)[0]
        steps.append(np.asarray(state, dtype=np.float64))
    return (h - np.stack(steps, axis=1),)


# Which function each test cell's points depend on. A test that accepts a wrong helper
# (test_rnn_forward checks the loop against the student's own rnn_step_forward) gets a check of
# the same kind, so that honest code it accepts passes the check too.
CHECKS = (
    Check("rnn_step_forward", "rnn_step_forward", ("test_rnn_step_forward",), step_inputs, pick=0),
    Check("rnn_forward", "rnn_forward", ("test_rnn_forward_reference",), forward_inputs, pick=0),
    Check("rnn_forward as a loop of rnn_step_forward", "rnn_forward", ("test_rnn_forward",), loop_inputs,
          adapter=forward_minus_loop, labels=("rnn_forward minus the loop",)),
    Check("output_forward", "output_forward", ("test_output_forward",), output_inputs),
    Check("softmax", "softmax", ("test_softmax",), softmax_inputs),
    Check("softmax of large scores", "softmax", ("test_softmax_stable",), large_softmax_inputs),
    Check("cross_entropy", "cross_entropy", ("test_cross_entropy",), cross_entropy_inputs),
    Check("cross_entropy of large scores", "cross_entropy", ("test_cross_entropy",), large_cross_entropy_inputs),
)
