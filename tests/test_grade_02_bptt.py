"""Chapter 2 (backpropagation through time) graded end to end through `python -m autograder grade`.

Each known-wrong version must lose exactly the points of the functions it breaks. A broken
rnn_step_backward breaks everything built on it (full and truncated BPTT) and nothing else; the
forward pass keeps its point whatever the backward pass does.

A "backward pass" made of numerical differences (the package's oracle, a difference loop around
the student's own forward functions, or one written inline that calls nothing) or of an autodiff
library gives the right numbers: the hidden tests watch the call and time it
(``autograder.guards``), so these lose the function's points. Known-right versions, which the
statement allows (a chapter-3-style ``numerical_gradient`` of the student's own, recomputing the
forward pass once), keep every point.
"""

import pytest
import submissions as subs
from classes import KERNEL_CHEATS, Chapter, standard_tests

pytestmark = [pytest.mark.slow]

STEP, FULL, TRUNC = "test_rnn_step_backward", "test_rnn_backward", "test_rnn_backward_truncated"
CLIP = "test_clip_by_global_norm"

# The instructor's rnn_step_backward, from its unpacking of the cache to its last gradient.
STEP_BODY = ("    x, h_prev, Wxh, Whh, h_next = cache\n"
             "    da = dh_next * (1.0 - h_next ** 2)\n"
             "    dx = da @ Wxh.T\n"
             "    dh_prev = da @ Whh.T\n"
             "    dWxh = x.T @ da\n"
             "    dWhh = h_prev.T @ da\n"
             "    dbh = da.sum(axis=0)\n")

# Differences need the bias, which the instructor's step cache does not keep: these versions keep it.
KEEP_BH = {
    "forward": [("return h_next, (x, h_prev, Wxh, Whh, h_next)", "return h_next, (x, h_prev, Wxh, Whh, h_next, bh)")],
    "rnn_backward": [("_, _, Wxh, Whh, _ = cache[0]", "Wxh, Whh = cache[0][2], cache[0][3]")],
}


def with_bh(**edits):
    """KEEP_BH plus ``edits`` ({solution cell: [(old, new), ...]})."""
    out = {cell: list(pairs) for cell, pairs in KEEP_BH.items()}
    for cell, pairs in edits.items():
        out.setdefault(cell, []).extend(pairs)
    return out


def step_body(code):
    return {"rnn_step_backward": [(STEP_BODY, code)]}


# A difference loop over every entry of every input, the loss being sum(forward(...) * upstream).
DIFFERENCE_LOOP = """\
    grads = []
    for value in point:
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + 1e-5
            up = LOSS
            value[idx] = old - 1e-5
            down = LOSS
            value[idx] = old
            grad[idx] = (up - down) / 2e-5
        grads.append(grad)
"""

STEP_BY_ORACLE = """\
    x, h_prev, Wxh, Whh, h_next, bh = cache
    point = {"x": x, "h_prev": h_prev, "Wxh": Wxh, "Whh": Whh, "bh": bh}

    def loss(x, h_prev, Wxh, Whh, bh):  # its gradient with respect to h_next is dh_next
        return np.sum(np.tanh(x @ Wxh + h_prev @ Whh + bh) * dh_next)

    dx, dh_prev, dWxh, dWhh, dbh = (oracle_gradient(lambda v: loss(**{**point, name: v}), point[name])
                                    for name in point)
"""

STEP_BY_DIFFERENCES_OF_FORWARD = (
    "    x, h_prev, Wxh, Whh, h_next, bh = cache\n"
    "    point = [x.copy(), h_prev.copy(), Wxh.copy(), Whh.copy(), bh.copy()]\n"
    + DIFFERENCE_LOOP.replace("LOSS", "np.sum(rnn_step_forward(*point)[0] * dh_next)")
    + "    dx, dh_prev, dWxh, dWhh, dbh = grads\n")

STEP_BY_INLINE_DIFFERENCES = (  # calls no function of the student's: only the cost bound sees it
    "    x, h_prev, Wxh, Whh, h_next, bh = cache\n"
    "    point = [x.copy(), h_prev.copy(), Wxh.copy(), Whh.copy(), bh.copy()]\n"
    + DIFFERENCE_LOOP.replace("LOSS", "np.sum(np.tanh(point[0] @ point[2] + point[1] @ point[3] + point[4]) * dh_next)")
    + "    dx, dh_prev, dWxh, dWhh, dbh = grads\n")

STEP_BY_GRADIENT_TAPE = """\
    import tensorflow as tf

    x, h_prev, Wxh, Whh, h_next, bh = cache
    point = [tf.Variable(v) for v in (x, h_prev, Wxh, Whh, bh)]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.tanh(point[0] @ point[2] + point[1] @ point[3] + point[4]) * dh_next)
    dx, dh_prev, dWxh, dWhh, dbh = (g.numpy() for g in tape.gradient(loss, point))
"""

FULL_BRANCH = """\
        # Full BPTT: one sweep from the last step to the first, carrying dh_next.
        dh_next = np.zeros((N, H))
        for t in reversed(range(T)):
            dh_t = dh[:, t, :] + dh_next
            dx_t, dh_next, dWxh_t, dWhh_t, dbh_t = rnn_step_backward(dh_t, cache[t])
            dx[:, t, :] = dx_t
            dWxh += dWxh_t
            dWhh += dWhh_t
            dbh += dbh_t
        dh0 = dh_next
"""

FULL_BY_DIFFERENCES_OF_FORWARD = (
    "        point = [np.stack([c[0] for c in cache], axis=1), cache[0][1].copy(), Wxh.copy(), Whh.copy(),\n"
    "                 cache[0][5].copy()]\n"
    + "".join("    " + line + "\n" for line in
              DIFFERENCE_LOOP.replace("LOSS", "np.sum(rnn_forward(*point)[0] * dh)").splitlines())
    + "        dx, dh0, dWxh, dWhh, dbh = grads\n")

WINDOWED_BRANCH = """\
        # Truncated BPTT: the gradient entering at step t flows back through at most k steps.
        for t in range(T):
            dh_flow = dh[:, t, :]
            for s in range(t, max(t - k, -1), -1):
                dx_s, dh_flow, dWxh_s, dWhh_s, dbh_s = rnn_step_backward(dh_flow, cache[s])
                dx[:, s, :] += dx_s
                dWxh += dWxh_s
                dWhh += dWhh_s
                dbh += dbh_s
            if t - k < 0:
                dh0 += dh_flow
"""

CHUNKED_BRANCH = """\
        # Truncated BPTT as min-char-rnn, Keras and PyTorch do it: chunks of k steps, full BPTT
        # inside each, the state handed from one chunk to the next as a constant.
        for start in range(0, T, k):
            dh_next = np.zeros((N, H))
            for t in reversed(range(start, min(start + k, T))):
                dx_t, dh_next, dWxh_t, dWhh_t, dbh_t = rnn_step_backward(dh[:, t, :] + dh_next, cache[t])
                dx[:, t, :] = dx_t
                dWxh += dWxh_t
                dWhh += dWhh_t
                dbh += dbh_t
            if start == 0:
                dh0 = dh_next
"""

CH = Chapter(
    assignment="02_bptt",
    notebook="bptt",
    points={
        "test_forward": 1,
        STEP: 3,
        FULL: 3,
        TRUNC: 2,
        "test_cross_entropy_backward": 1,
        "test_output_backward": 1,
        CLIP: 1,
    },
    mutants={
        # Bugs in the full sweep also break truncate >= T, which is full BPTT (and takes that sweep here).
        "dropped_dh_next": (
            {"rnn_backward": [("dh_t = dh[:, t, :] + dh_next", "dh_t = dh[:, t, :]")]},
            {FULL, TRUNC},
        ),
        "truncation_off_by_one": (
            {"rnn_backward": [("for s in range(t, max(t - k, -1), -1):", "for s in range(t, max(t - k - 1, -1), -1):")]},
            {TRUNC},
        ),
        "tanh_derivative_as_1_minus_h": (
            {"rnn_step_backward": [("da = dh_next * (1.0 - h_next ** 2)", "da = dh_next * (1.0 - h_next)")]},
            {STEP, FULL, TRUNC},
        ),
        "missing_bias_gradient": (
            {"rnn_backward": [("dbh += dbh_t", "pass")]},
            {FULL, TRUNC},
        ),
        "whh_not_transposed_in_backward": (
            {"rnn_step_backward": [("dh_prev = da @ Whh.T", "dh_prev = da @ Whh")]},
            {STEP, FULL, TRUNC},
        ),
        "dwhh_transposed": (
            {"rnn_step_backward": [("dWhh = h_prev.T @ da", "dWhh = da.T @ h_prev")]},
            {STEP, FULL, TRUNC},
        ),
        "cross_entropy_backward_not_averaged": (
            {"cross_entropy_backward": [("dscores /= N * T", "dscores /= N")]},
            {"test_cross_entropy_backward"},
        ),
        "output_backward_missing_dby": (
            {"output_backward": [("dby = dscores.reshape(-1, C).sum(axis=0)", "dby = np.zeros(C)")]},
            {"test_output_backward"},
        ),
        "output_backward_dwhy_over_the_last_step_only": (
            {"output_backward": [("dWhy = h.reshape(-1, H).T @ dscores.reshape(-1, C)", "dWhy = h[:, -1].T @ dscores[:, -1]")]},
            {"test_output_backward"},
        ),
        "clip_each_array_separately": (
            {"clip_by_global_norm": [("clipped = [g * scale for g in grads]",
                                      "clipped = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]")]},
            {CLIP},
        ),
        "clip_nan_on_all_zero_gradients": (  # unit direction times the capped length: 0 / 0 when all are zero
            {"clip_by_global_norm": [("    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0\n"
                                      "    clipped = [g * scale for g in grads]",
                                      "    clipped = [g / norm * min(norm, max_norm) for g in grads]")]},
            {CLIP},
        ),
        "output_forward_without_bias": (
            {"forward": [("return h @ Why + by", "return h @ Why")]},
            {"test_forward"},
        ),
        # Chapter 1's functions, pasted in wrong: the backward passes that use them lose their points too.
        "rnn_forward_ignores_h0": (
            {"forward": [("h_prev = h0", "h_prev = np.zeros_like(h0)")]},
            {"test_forward", FULL, TRUNC},
        ),
        "softmax_wrong_axis": (
            {"forward": [("return e / e.sum(axis=-1, keepdims=True)", "return e / e.sum(axis=0, keepdims=True)")]},
            {"test_forward", "test_cross_entropy_backward"},
        ),
        "cross_entropy_sum_not_mean": (
            {"forward": [("axis=-1).mean()", "axis=-1).sum()")]},
            {"test_forward"},
        ),
        # Truncation: the chunked variant is not the windowed one the statement grades, and k >= T
        # is full BPTT, not an error.
        "chunked_truncation": (
            {"rnn_backward": [(WINDOWED_BRANCH, CHUNKED_BRANCH)]},
            {TRUNC},
        ),
        "truncate_longer_than_T_refused": (
            {"rnn_backward": [("    k = T if truncate is None else min(truncate, T)\n",
                               "    if truncate is not None and truncate > T:\n"
                               "        raise ValueError(f'truncate={truncate} is longer than the sequence (T={T})')\n"
                               "    k = T if truncate is None else truncate\n")]},
            {TRUNC},
        ),
        # Backward passes that are not backward passes: right numbers, wrong work.
        "step_backward_by_the_package_oracle": (with_bh(**step_body(STEP_BY_ORACLE)), {STEP, FULL, TRUNC}),
        "step_backward_by_differences_of_rnn_step_forward": (
            with_bh(**step_body(STEP_BY_DIFFERENCES_OF_FORWARD)), {STEP, FULL, TRUNC}),
        "step_backward_by_inline_differences": (with_bh(**step_body(STEP_BY_INLINE_DIFFERENCES)), {STEP, FULL, TRUNC}),
        "step_backward_by_gradient_tape": (with_bh(**step_body(STEP_BY_GRADIENT_TAPE)), {STEP, FULL, TRUNC}),
        # Full BPTT (and so truncate >= T) by differences of rnn_forward; the windowed branch is honest.
        "full_bptt_by_differences_of_rnn_forward": (
            with_bh(rnn_backward=[(FULL_BRANCH, FULL_BY_DIFFERENCES_OF_FORWARD)],
                    rnn_step_backward=[("x, h_prev, Wxh, Whh, h_next = cache", "x, h_prev, Wxh, Whh, h_next, _ = cache")]),
            {FULL, TRUNC}),
    },
    right={
        # Chapter 3's exercise function, same name as the old oracle, another contract (f() in place).
        "own_chapter3_numerical_gradient": {"forward": [subs.defined_before("rnn_step_forward")]},
        # Checkpointing: rnn_forward keeps only its inputs, rnn_backward runs it once more.
        "rnn_backward_recomputes_the_forward": {
            "forward": [("    return h, cache\n", "    return h, (x, h0, Wxh, Whh, bh)  # the inputs only\n")],
            "rnn_backward": [("    N, T, H = dh.shape\n",
                              "    N, T, H = dh.shape\n"
                              "    x, h_prev, Wxh, Whh, bh = cache  # recompute the steps' caches, once\n"
                              "    cache = []\n"
                              "    for t in range(T):\n"
                              "        h_prev, step_cache = rnn_step_forward(x[:, t, :], h_prev, Wxh, Whh, bh)\n"
                              "        cache.append(step_cache)\n")],
        },
        # The step cache keeps the inputs; rnn_step_backward recomputes its step (windowed truncation
        # then runs rnn_step_forward once per step backward, up to T * k times).
        "step_backward_recomputes_its_step": {
            "forward": [("return h_next, (x, h_prev, Wxh, Whh, h_next)", "return h_next, (x, h_prev, Wxh, Whh, bh)")],
            "rnn_step_backward": [("    x, h_prev, Wxh, Whh, h_next = cache\n",
                                   "    x, h_prev, Wxh, Whh, bh = cache\n"
                                   "    h_next, _ = rnn_step_forward(x, h_prev, Wxh, Whh, bh)  # recomputed\n")],
        },
    },
    timeout=120,  # step_backward_by_gradient_tape imports TensorFlow inside a watched call
    cheats=KERNEL_CHEATS,
)


globals().update(standard_tests(CH))


def test_statement_quotes_the_cost_bound():
    """The exercise states the bound that guards.backward_cost applies."""
    from autograder import guards

    intro = subs.load(CH.assignment, CH.notebook, "solutions").cells[0].source
    assert f"at most {guards.COST_BOUND:.0f} times your forward pass" in intro
