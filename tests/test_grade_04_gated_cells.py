"""Chapter 4 (GRU and LSTM, forward and backward, and two variants) graded end to end.

Known-wrong versions include swapped gates (LSTM i/f, GRU z/r, CIFG f/o), a missing tanh on the cell
state, the GRU update convention reversed, a missing forget bias, a dropped cell-state gradient, a
sequence that does not start from h0 or does not carry the cell, an initialisation that ignores its
generator, and backward passes that are not backward passes: differences through the package's
oracle, a difference loop around the student's own forward, an inline difference loop that calls
no function (caught by its cost), and TensorFlow's GradientTape. A broken forward pass loses what
is built on it; a broken backward pass never costs the forward's points.

Known-right versions keep every point: a notebook that defines chapter 3's ``numerical_gradient``
(another contract than the package's oracle), and a sequence backward pass that recomputes its
forward pass once (checkpointing), which the backward-pass contract allows.
"""

import pytest
import submissions as subs
from classes import KERNEL_CHEATS, Chapter, standard_tests

pytestmark = [pytest.mark.slow]

GSF, GSB, GF, GB = "test_gru_step_forward", "test_gru_step_backward", "test_gru_forward", "test_gru_backward"
LSF, LSB, LF, LB = "test_lstm_step_forward", "test_lstm_step_backward", "test_lstm_forward", "test_lstm_backward"
INIT = "test_init_lstm_params"
PF, PB, CF, CB = ("test_peephole_lstm_forward", "test_peephole_lstm_backward", "test_cifg_lstm_forward",
                  "test_cifg_lstm_backward")

# Backward passes that are not backward passes. Each keeps b in its forward pass's cache (the
# instructor's caches do not need it) and replaces the backward pass by a new function of the same
# name, leaving the chain-rule one under another name, unused.

GRU_BACKWARD_BY_THE_ORACLE = '''def gru_step_backward(dh, cache):
    from autograder.gradients import oracle_gradient

    inputs = [cache[0], cache[1], cache[2], cache[3], cache[-1]]  # x, h_prev, Wx, Wh, b
    grads = []
    for k in range(5):
        def loss(v, k=k):
            args = list(inputs)
            args[k] = v
            return np.sum(gru_step_forward(*args)[0] * dh)
        grads.append(oracle_gradient(loss, inputs[k]))
    return tuple(grads)


def _chain_rule_gru_step_backward('''

LSTM_BACKWARD_BY_DIFFERENCES = '''def lstm_backward(dh, cache):
    inputs = list(cache[-1])  # x, h0, Wx, Wh, b, kept by lstm_forward
    grads = []
    for value in inputs:
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + 1e-6
            plus = np.sum(lstm_forward(*inputs)[0] * dh)
            value[idx] = old - 1e-6
            minus = np.sum(lstm_forward(*inputs)[0] * dh)
            value[idx] = old
            grad[idx] = (plus - minus) / 2e-6
        grads.append(grad)
    return tuple(grads)


def _chain_rule_lstm_backward('''

CIFG_BACKWARD_BY_INLINE_DIFFERENCES = '''def cifg_lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh = cache[:5]
    b = cache[-1]
    H = h_prev.shape[1]
    grads = []
    for value in (x, h_prev, c_prev, Wx, Wh, b):
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            sides = []
            for step in (1e-5, -1e-5):
                value[idx] = old + step
                a = x @ Wx + h_prev @ Wh + b
                f = 0.5 * (1.0 + np.tanh(0.5 * a[:, :H]))
                g = np.tanh(a[:, H:2 * H])
                o = 0.5 * (1.0 + np.tanh(0.5 * a[:, 2 * H:]))
                c = f * c_prev + (1 - f) * g
                sides.append(np.sum(o * np.tanh(c) * dh) + np.sum(c * dc))
            value[idx] = old
            grad[idx] = (sides[0] - sides[1]) / 2e-5
        grads.append(grad)
    return tuple(grads)


def _chain_rule_cifg_lstm_step_backward('''

LSTM_STEP_BACKWARD_BY_GRADIENT_TAPE = '''import tensorflow as tf


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh = cache[:5]
    b = cache[-1]
    H = h_prev.shape[1]
    variables = [tf.Variable(v) for v in (x, h_prev, c_prev, Wx, Wh, b)]
    with tf.GradientTape() as tape:
        tx, th, tc, tWx, tWh, tb = variables
        a = tx @ tWx + th @ tWh + tb
        i, f = tf.sigmoid(a[:, :H]), tf.sigmoid(a[:, H:2 * H])
        g, o = tf.tanh(a[:, 2 * H:3 * H]), tf.sigmoid(a[:, 3 * H:])
        c = f * tc + i * g
        loss = tf.reduce_sum(o * tf.tanh(c) * dh) + tf.reduce_sum(c * dc)
    return tuple(grad.numpy() for grad in tape.gradient(loss, variables))


def _chain_rule_lstm_step_backward('''

CH = Chapter(
    assignment="04_gated_cells",
    notebook="gated_cells",
    points={GSF: 2, GSB: 3, GF: 1, GB: 2, LSF: 2, LSB: 3, LF: 1, LB: 2, INIT: 1, PF: 1, PB: 1, CF: 1, CB: 1},
    mutants={
        "lstm_input_and_forget_gates_swapped": (
            {"lstm_step_forward": [("i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H:2 * H])",
                                    "f = sigmoid(a[:, :H])\n    i = sigmoid(a[:, H:2 * H])")]},
            {LSF, LSB, LF, LB},
        ),
        "lstm_missing_tanh_on_cell_state": (
            {"lstm_step_forward": [("tc = np.tanh(c)", "tc = c")]},
            {LSF, LSB, LF, LB},
        ),
        "gru_update_and_reset_gates_swapped": (
            {"gru_step_forward": [("z = sigmoid(ax[:, :H] + h_prev @ Wh[:, :H])\n    r = sigmoid(ax[:, H:2 * H] + h_prev @ Wh[:, H:2 * H])",
                                   "r = sigmoid(ax[:, :H] + h_prev @ Wh[:, :H])\n    z = sigmoid(ax[:, H:2 * H] + h_prev @ Wh[:, H:2 * H])")]},
            {GSF, GSB, GF, GB},
        ),
        "gru_update_convention_reversed": (
            # The step's gates and candidate are right, so its backward pass, given them, is the gradient of
            # the GRU the hidden test compares with, but not of this student's step: the visible gradient
            # check, against the student's own forward pass, fails, and the cell with it.
            {"gru_step_forward": [("h = z * h_prev + (1 - z) * cand", "h = (1 - z) * h_prev + z * cand")]},
            {GSF, GSB, GF, GB},
        ),
        "gru_reset_after_the_product": (
            {"gru_step_forward": [("(r * h_prev) @ Wh[:, 2 * H:]", "r * (h_prev @ Wh[:, 2 * H:])")]},
            {GSF, GSB, GF, GB},
        ),
        "gru_forward_ignores_h0": (
            {"gru_forward": [("state = h0\n", "state = np.zeros_like(h0)\n")]},
            {GF, GB},
        ),
        "gru_backward_missing_bias_gradient": (
            {"gru_backward": [("db += db_t", "pass")]},
            {GB},
        ),
        "gru_step_backward_transposed_weight": (
            {"gru_step_backward": [("drh = da_c @ Wh[:, 2 * H:].T", "drh = da_c @ Wh[:, 2 * H:]")]},
            {GSB, GB},
        ),
        "gru_step_backward_by_the_oracle": (
            {"gru_step_forward": [("cache = (x, h_prev, Wx, Wh, z, r, cand)", "cache = (x, h_prev, Wx, Wh, z, r, cand, b)")],
             "gru_step_backward": [("def gru_step_backward(", GRU_BACKWARD_BY_THE_ORACLE)]},
            {GSB, GB},
        ),
        "lstm_forward_does_not_carry_the_cell": (
            {"lstm_forward": [("lstm_step_forward(x[:, t], state, cell, Wx, Wh, b)",
                               "lstm_step_forward(x[:, t], state, np.zeros_like(cell), Wx, Wh, b)")]},
            {LF, LB},
        ),
        "lstm_backward_drops_the_cell_gradient": (
            {"lstm_backward": [("lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])",
                                "lstm_step_backward(dh[:, t] + dh_next, np.zeros_like(dc_next), cache[t])")]},
            {LB},
        ),
        "lstm_step_backward_ignores_c_through_h": (
            {"lstm_step_backward": [("dc_total = dc + dh * o * (1 - tc ** 2)", "dc_total = dc")]},
            {LSB, LB},
        ),
        "lstm_step_backward_by_gradient_tape": (
            {"lstm_step_forward": [("cache = (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc)",
                                    "cache = (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc, b)")],
             "lstm_step_backward": [("def lstm_step_backward(", LSTM_STEP_BACKWARD_BY_GRADIENT_TAPE)]},
            {LSB, LB},
        ),
        "lstm_backward_by_differences_of_lstm_forward": (
            {"lstm_forward": [("    return h, cache", "    return h, cache + [(x, h0, Wx, Wh, b)]")],
             "lstm_backward": [("def lstm_backward(", LSTM_BACKWARD_BY_DIFFERENCES)]},
            {LB},
        ),
        "missing_forget_bias": (
            {"init_lstm_params": [("b[H:2 * H] = 1.0", "b[H:2 * H] = 0.0")]},
            {INIT},
        ),
        "forget_bias_on_the_input_gate": (
            {"init_lstm_params": [("b[H:2 * H] = 1.0", "b[:H] = 1.0")]},
            {INIT},
        ),
        "init_lstm_params_ignores_rng": (
            {"init_lstm_params": [("Wx = rng.uniform(-s, s, (D, 4 * H))\n    Wh = rng.uniform(-s, s, (H, 4 * H))",
                                   "Wx = np.random.uniform(-s, s, (D, 4 * H))\n    Wh = np.random.uniform(-s, s, (H, 4 * H))")]},
            {INIT},
        ),
        "init_lstm_params_with_its_own_seed": (
            {"init_lstm_params": [("    s = 1.0 / np.sqrt(H)\n", "    s = 1.0 / np.sqrt(H)\n    rng = np.random.default_rng(0)\n")]},
            {INIT},
        ),
        "peephole_output_gate_sees_the_old_cell": (
            {"peephole_lstm_step_forward": [("o = sigmoid(a[:, 3 * H:] + c * p[2 * H:])",
                                             "o = sigmoid(a[:, 3 * H:] + c_prev * p[2 * H:])")]},
            {PF, PB},
        ),
        "peephole_backward_missing_dp_o": (
            {"peephole_lstm_step_backward": [("(da_o * c).sum(axis=0)", "np.zeros(H)")]},
            {PB},
        ),
        "cifg_input_gate_not_coupled": (
            {"cifg_lstm_step_forward": [("c = f * c_prev + (1 - f) * g", "c = f * c_prev + g")]},
            {CF, CB},
        ),
        "cifg_forget_and_output_gates_swapped": (
            {"cifg_lstm_step_forward": [("f = sigmoid(a[:, :H])", "f = sigmoid(a[:, 2 * H:])"),
                                        ("o = sigmoid(a[:, 2 * H:])", "o = sigmoid(a[:, :H])")]},
            {CF, CB},
        ),
        "cifg_backward_treats_i_as_constant": (
            {"cifg_lstm_step_backward": [("df = dc_total * (c_prev - g)", "df = dc_total * c_prev")]},
            {CB},
        ),
        "cifg_step_backward_by_inline_differences": (
            {"cifg_lstm_step_forward": [("cache = (x, h_prev, c_prev, Wx, Wh, f, g, o, tc)",
                                         "cache = (x, h_prev, c_prev, Wx, Wh, f, g, o, tc, b)")],
             "cifg_lstm_step_backward": [("def cifg_lstm_step_backward(", CIFG_BACKWARD_BY_INLINE_DIFFERENCES)]},
            {CB},
        ),
    },
    right={
        "defines_chapter_3_numerical_gradient": {
            "gru_step_forward": [subs.defined_before("gru_step_forward")],
        },
        "lstm_backward_recomputes_the_forward_once": {  # checkpointing: the cache keeps the inputs only
            "lstm_forward": [("def lstm_forward(x, h0, Wx, Wh, b):", "def lstm_forward(x, h0, Wx, Wh, b, steps=False):"),
                             ("    return h, cache", "    return h, (cache if steps else (x, h0, Wx, Wh, b))")],
            "lstm_backward": [("    N, T, H = dh.shape\n",
                               "    _, cache = lstm_forward(*cache, steps=True)  # the steps' caches, recomputed\n"
                               "    N, T, H = dh.shape\n")],
        },
    },
    cheats=KERNEL_CHEATS,
    timeout=60,  # lstm_step_backward_by_gradient_tape imports TensorFlow (over 10 s on two busy cores); the
    # inline differences take up to three cost measurements of three runs each, visible and hidden
)

globals().update(standard_tests(CH))
