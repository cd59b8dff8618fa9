"""Chapter 2 (backpropagation through time) graded end to end through `python -m autograder grade`.

Each known-wrong version must lose exactly the points of the functions it breaks. A broken
rnn_step_backward breaks everything built on it (full and truncated BPTT) and nothing else; the
forward pass keeps its point whatever the backward pass does.
"""

from classes import KERNEL_CHEATS, Chapter, standard_tests

STEP, FULL, TRUNC = "test_rnn_step_backward", "test_rnn_backward", "test_rnn_backward_truncated"

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
        "test_clip_by_global_norm": 1,
    },
    mutants={
        "dropped_dh_next": (
            {"rnn_backward": [("dh_t = dh[:, t, :] + dh_next", "dh_t = dh[:, t, :]")]},
            {FULL},
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
            {FULL},
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
        "clip_each_array_separately": (
            {"clip_by_global_norm": [("clipped = [g * scale for g in grads]",
                                      "clipped = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]")]},
            {"test_clip_by_global_norm"},
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
    },
    cheats=KERNEL_CHEATS,
)


globals().update(standard_tests(CH))
