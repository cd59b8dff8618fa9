"""Cross-check: re-run a submission's graded functions away from nbgrader and compare with the reference.

nbgrader runs student code in the kernel that runs the tests, so a submission can cheat the
tests from inside (patch numpy or the checking harness, empty later cells with an IPython input
transformer, read the expected value from a test's frame, return objects that compare equal
to anything, do any of it only when ``NBGRADER_EXECUTION`` is set). The cross-check does not
trust that kernel:

1. the grader draws fresh inputs for every submission (seeded from the submission and a
   per-run nonce) and writes them to an ``.npz`` file;
2. the submission's code cells (not its test cells, and not the cells the grader had to skip)
   run in a fresh, sandboxed, plain Python interpreter (:func:`child`; no IPython, so no input
   transformers and no magics), which calls each graded function on those inputs and writes
   what it returned as float64 arrays to another ``.npz`` (``allow_pickle=False`` on reading:
   only numbers come back, never objects);
3. meanwhile the instructor's solution runs on its own copy of the same inputs, in a plain
   process of its own that never sees student code (:func:`reference`; a process, so that the
   grader never imports TensorFlow), and the grader, which never ran student code, compares.

Chapters 1-4 (numpy) and 5 (Keras cells) have checks (``SPECS``). A check calls one graded
function, or a short program around it (a backward pass on its own forward pass's cache, a Keras
cell with weights the check sets), and everything it returns is compared with the reference's.
Inputs are drawn as the chapter's hidden tests draw theirs, so that honest code those tests
accept is accepted here too. Chapter 6's points come from training runs, which the cross-check
does not repeat: it has none.

A check covers the test cells whose points depend on that function behaving as specified
(``Check.tests``). Where nbgrader awarded points on a test cell whose check failed, the
submission is flagged, with the reason. Honest wrong code loses those points in nbgrader too,
so it is not flagged. This module holds the inputs and the wiring, never a solution: the
reference comes from ``solutions/`` at grading time.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHILD_TIMEOUT_PER_CALL = 10  # seconds one function call may take in the child; a cell, three times as long
CALL_SECONDS = {"05_tf_cells": 60}  # Keras builds layers, traces and may compile on a first call


@dataclass(frozen=True)
class Check:
    name: str  # what the report calls it
    function: str  # the graded function the report blames
    tests: tuple  # grade ids of the test cells whose points need this to be right
    make_args: object  # rng -> tuple of arguments (arrays, ints)
    pick: int | tuple | None = None  # take this element (or these) of a returned tuple
    call: object = None  # (namespace, *args) -> tuple of results, instead of calling ``function`` directly
    labels: tuple = ()  # names of the results, for the report
    rtol: float = 1e-6
    atol: float = 1e-9

    def results(self, namespace, args):
        """The check's results on ``args``, as a tuple (each part becomes a float64 array)."""
        if self.call is not None:
            return tuple(self.call(namespace, *args))
        value = namespace[self.function](*args)
        if isinstance(self.pick, tuple):
            return tuple(value[k] for k in self.pick)
        return (value if self.pick is None else value[self.pick],)

    def label(self, k):
        return self.labels[k] if k < len(self.labels) else f"result {k}"


def _rnn_weights(rng, D, H):
    return rng.standard_normal((D, H)) / np.sqrt(D), rng.standard_normal((H, H)) / np.sqrt(H), rng.standard_normal(H) * 0.5


def _ch1_step(rng):
    N, D, H = rng.integers(1, 6), rng.integers(1, 7), rng.integers(1, 7)
    return (rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H))


def _ch1_forward(rng):
    N, T, D, H = rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 6), rng.integers(1, 6)
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H))


def _ch1_output(rng):
    N, T, H, C = (int(rng.integers(1, 6)) for _ in range(4))
    return rng.uniform(-1, 1, (N, T, H)), rng.standard_normal((H, C)), rng.standard_normal(C)


def _ch1_softmax(rng):
    return (rng.standard_normal((int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 7)))) * 3.0,)


def _ch1_softmax_large(rng):
    scores = rng.standard_normal((3, 4, 5))
    return (scores + rng.choice([-1000.0, 1000.0], size=(3, 4, 1)),)


def _ch1_cross_entropy(rng):
    N, T, C = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(2, 6))
    return rng.standard_normal((N, T, C)) * 2.0, rng.integers(0, C, size=(N, T))


def _ch1_cross_entropy_large(rng):
    """Scores of size 1000, one label far below its row's best score (its probability underflows to 0)."""
    N, T, C = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 6))
    scores, y = rng.standard_normal((N, T, C)) * 1000.0, rng.integers(0, C, size=(N, T))
    y[0, 0] = np.argmin(scores[0, 0])
    scores[0, 0, y[0, 0]] = scores[0, 0].max() - 1500.0
    return scores, y


def _ch1_loop(rng):
    N, T, D, H = _sizes(rng, [(2, 5, 3, 4), (1, 9, 2, 3), (4, 1, 5, 2)])
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H))


def _loop_call(namespace, x, h0, Wxh, Whh, bh):
    """rnn_forward against a loop of the submission's own rnn_step_forward (zero where they agree):
    what test_rnn_forward checks, so a wrong step with a right loop passes it here as well."""
    h = np.asarray(namespace["rnn_forward"](x, h0, Wxh, Whh, bh)[0], dtype=np.float64)
    state, steps = h0, []
    for t in range(x.shape[1]):
        state = namespace["rnn_step_forward"](x[:, t, :], state, Wxh, Whh, bh)[0]
        steps.append(np.asarray(state, dtype=np.float64))
    return (h - np.stack(steps, axis=1),)


# Chapters 2-4 draw their inputs as the chapter's hidden tests do, sizes included (one of the
# sizes a hidden test uses), so that honest code that passes those tests passes these checks:
# the cross-check is there to catch a kernel that lied, not to test harder than the tests.


def _sizes(rng, choices):
    return tuple(int(v) for v in choices[int(rng.integers(len(choices)))])


def _backward(forward, backward, n_inputs, n_upstream, n_grads, **kwargs):
    """A check of ``backward`` on the cache of the submission's own ``forward``: args are the
    forward's inputs, then the upstream gradients (then, for truncation, ``truncate``)."""
    def call(namespace, *args):
        from . import guards  # the hidden tests' guard: chain rule, not differences or autodiff

        forwards = [f for name, f in namespace.items() if name.endswith("_forward") and callable(f)]
        out, ran = guards.forward_calls(forwards, namespace[forward], *args[:n_inputs])
        rest = args[n_inputs:]
        extra = {name: rest[n_upstream + k] for k, name in enumerate(kwargs)}
        budget = 2 * ran + 2  # as the hidden tests: the forward may run once more; with truncation a step
        k = extra.get("truncate")  # backward that recomputes its step runs it up to T * k times
        if isinstance(k, (int, np.integer)):
            budget += (ran - 1) * min(int(k), ran - 1)
        grads = guards.backward_pass(backward, namespace[backward], *rest[:n_upstream], out[-1], forwards=forwards,
                                     forward_budget=budget, **extra)
        if len(grads) != n_grads:
            raise ValueError(f"{backward} returned {len(grads)} values, not {n_grads}")
        return tuple(grads)
    return call


def _ch2_forward(rng):
    N, T, D, H = 2, 4, 3, 5
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), rng.standard_normal((D, H)) / 2,
            rng.standard_normal((H, H)) / 2, rng.standard_normal(H))


def _ch2_output(rng):
    N, T, H, C = 2, 4, 5, 3
    return np.tanh(rng.standard_normal((N, T, H))), rng.standard_normal((H, C)), rng.standard_normal(C)


def _ch2_scores(rng):
    return (rng.standard_normal((2, 4, 3)) * 2.0,)


def _ch2_cross_entropy(rng):
    return rng.standard_normal((2, 4, 3)) * 2.0, rng.integers(0, 3, size=(2, 4))


def _ch2_step_backward(rng):
    N, D, H = _sizes(rng, [(3, 4, 5), (1, 2, 3), (4, 5, 2)])
    return (rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H),
            rng.standard_normal((N, H)))


def _ch2_backward(rng):
    N, T, D, H = _sizes(rng, [(2, 5, 3, 4), (1, 8, 2, 3), (3, 1, 4, 2)])
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H),
            rng.standard_normal((N, T, H)))


def _ch2_truncated(window):
    """Inputs of the hidden truncation test, with ``truncate = window(T)``: every k the test uses gets a
    check of its own (k = 1 cannot tell the windowed variant from the chunked one, k = 2 can)."""
    def make(rng):
        N, T, D, H = 2, 6, 3, 4
        return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H),
                rng.standard_normal((N, T, H)), int(window(T)))
    return make


def _ch2_cross_entropy_backward(rng):
    N, T, C = _sizes(rng, [(2, 3, 4), (1, 5, 2), (4, 1, 3)])
    return rng.standard_normal((N, T, C)) * 2.0, rng.integers(0, C, size=(N, T))


def _ch2_output_backward(rng):
    N, T, H, C = 2, 3, 4, 5
    return rng.standard_normal((N, T, C)), rng.uniform(-1, 1, (N, T, H)), rng.standard_normal((H, C))


def _ch2_clip(rng):
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4), rng.standard_normal((4, 4)) * 0.1]
    total = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return (*grads, total * float(rng.choice([1 / 3, 2.0])))


def _clip_call(namespace, g0, g1, g2, max_norm):
    inputs = [g0, g1, g2]
    clipped, norm = namespace["clip_by_global_norm"](inputs, max_norm)
    zeros, zero_norm = namespace["clip_by_global_norm"]([np.zeros_like(g) for g in inputs], max_norm)
    # the inputs after the call (unchanged), then all-zero gradients: returned as they are, norm 0
    return (*(clipped[k] for k in range(3)), norm, *inputs, *(zeros[k] for k in range(3)), zero_norm)


def _ch3_numerical(rng):
    return rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal((4, 2))


def _numerical_call(namespace, A, x, u):
    grad = namespace["numerical_gradient"]

    def f():
        return float(np.sum(np.tanh(A @ x) * u))

    return grad(f, x), grad(f, x, eps=1e-2)


def _ch3_restores(rng):
    return (rng.standard_normal((3, 4)),)


def _restores_call(namespace, x):
    grad, before = namespace["numerical_gradient"], x.copy()
    grad(lambda: float(np.sum(x ** 3) + np.prod(x[0])), x, eps=1e-3)
    restored = np.array_equal(x, before)
    calls = []

    def failing():
        calls.append(1)
        if len(calls) == 3:
            raise FloatingPointError("the model blew up")
        return float(np.sum(x))

    try:
        grad(failing, x, eps=0.5)
        propagated = False
    except FloatingPointError:
        propagated = True
    return float(restored), float(propagated), float(np.array_equal(x, before))


def _ch3_relative(rng):
    a = rng.standard_normal((3, 4))
    b = a + rng.standard_normal((3, 4)) * 1e-3
    b[1, 2] = a[1, 2] * 1.5
    a[0, 0] = b[0, 0] = 0.0
    return a, b


def _relative_call(namespace, a, b):
    fn = namespace["relative_error"]
    return fn(a, b), fn(np.array([1e-12]), np.array([3e-12]))


GC_PARAMS = ("x", "w", "c")  # the parameters of the gradient_check check's function


def _gc_gradients(A, u, v, p):
    """Gradients of f = sum(tanh(A x) u) + sum(w^3 v) + sum(sin c) (none of them a course exercise)."""
    return {"x": A.T @ ((1 - np.tanh(A @ p["x"]) ** 2) * u), "w": 3 * p["w"] ** 2 * v, "c": np.cos(p["c"])}


def _ch3_gradient_check(rng):
    while True:  # as the hidden test: no tiny gradient entry, where rounding makes relative errors large
        A, u, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal(5)
        p = {"x": rng.standard_normal((3, 2)), "w": rng.standard_normal(5), "c": rng.uniform(-1.2, 1.2, (2, 3))}
        if min(np.abs(g).min() for g in _gc_gradients(A, u, v, p).values()) > 1e-2:
            break
    which = int(rng.integers(len(GC_PARAMS)))
    entry = int(rng.integers(p[GC_PARAMS[which]].size))
    return A, u, v, p["x"], p["w"], p["c"], which, int(rng.integers(3)), entry


def _gradient_check_call(namespace, A, u, v, x, w, c, which, kind, entry):
    """One report with correct gradients, one with a planted bug in one parameter (zero, 1% off
    everywhere, or one entry off): the verdicts, the errors, the worst index of a one-entry bug (-1 for the
    others, whose worst entry is a matter of rounding), and whether the parameters were restored."""
    p = {"x": x, "w": w, "c": c}
    before = {k: a.copy() for k, a in p.items()}

    def f():
        return float(np.sum(np.tanh(A @ p["x"]) * u) + np.sum(p["w"] ** 3 * v) + np.sum(np.sin(p["c"])))

    good = _gc_gradients(A, u, v, before)
    bad = GC_PARAMS[which]
    wrong = [np.zeros_like(good[bad]), good[bad] * 1.01, good[bad].copy()][kind]
    if kind == 2:
        wrong.flat[entry] += 0.1 * (1 + abs(wrong.flat[entry]))
    out = []
    for grads in (good, {**good, bad: wrong}):
        report = namespace["gradient_check"](f, p, {k: g.copy() for k, g in grads.items()})
        out.append(float(report["passed"] == True))  # noqa: E712 - numpy booleans too
        out += [float(report["params"][k]["passed"] == True) for k in GC_PARAMS]  # noqa: E712
        out += [float(report["params"][k]["error"]) for k in GC_PARAMS]
    index = report["params"][bad]["index"]
    out.append(np.ravel_multi_index(tuple(int(i) for i in index), good[bad].shape) if kind == 2 else -1)
    # eps and tol given by keyword: a correct gradient checked with a step of 1e-2 (its errors show the
    # truncation error of that step), and a gradient 1% off everywhere (relative error 0.01 / 2.01)
    # with tol=1e-2, where it passes, and tol=1e-3, where it fails.
    report = namespace["gradient_check"](f, p, {k: g.copy() for k, g in good.items()}, eps=1e-2, tol=1.0)
    out += [float(report["params"][k]["error"]) for k in GC_PARAMS]
    for tol in (1e-2, 1e-3):
        report = namespace["gradient_check"](f, p, {**{k: g.copy() for k, g in good.items()}, bad: good[bad] * 1.01},
                                             tol=tol)
        out += [float(report["params"][k]["passed"] == True) for k in GC_PARAMS]  # noqa: E712
    out.append(float(all(np.array_equal(p[k], before[k]) for k in p)))
    return tuple(out)


def _ch4_step(gates, sizes, peephole=False, c=False):
    def make(rng):
        N, D, H = _sizes(rng, sizes)
        args = [rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H))]
        if c:
            args.append(rng.standard_normal((N, H)))
        args += [rng.standard_normal((D, gates * H)) / np.sqrt(D), rng.standard_normal((H, gates * H)) / np.sqrt(H),
                 rng.standard_normal(gates * H) * 0.5]
        if peephole:
            args.append(rng.standard_normal(3 * H))
        return tuple(args)
    return make


def _ch4_step_backward(gates, peephole=False, c=False):
    def make(rng):
        args = _ch4_step(gates, [(2, 3, 4), (1, 2, 3)], peephole, c)(rng)
        N, H = args[1].shape
        return (*args, *(rng.standard_normal((N, H)) for _ in range(2 if c else 1)))
    return make


def _ch4_sequence(gates, sizes):
    def make(rng):
        N, T, D, H = _sizes(rng, sizes)
        return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)),
                rng.standard_normal((D, gates * H)) / np.sqrt(D), rng.standard_normal((H, gates * H)) / np.sqrt(H),
                rng.standard_normal(gates * H) * 0.5)
    return make


def _ch4_sequence_backward(gates):
    def make(rng):
        N, T, D, H = 2, 4, 3, 3
        return (*_ch4_sequence(gates, [(N, T, D, H)])(rng), rng.standard_normal((N, T, H)))
    return make


def _ch4_init(rng):
    return int(rng.integers(2, 6)), int(rng.integers(3, 9)), int(rng.integers(2 ** 31))


def _init_call(namespace, D, H, seed):
    """The forget bias, the shapes and whether each weight is drawn from uniform(-1/sqrt(H), 1/sqrt(H))
    (the draws themselves depend on how the generator is called)."""
    def draw(s):
        return [np.asarray(v, dtype=np.float64) for v in namespace["init_lstm_params"](D, H, np.random.default_rng(s))]

    Wx, Wh, b = draw(seed)
    s = 1 / np.sqrt(H)
    uniform = [float(np.all(np.abs(w) <= s) and np.abs(w).max() > s / 2 and np.std(w) > 0) for w in (Wx, Wh)]
    again, other = draw(seed), draw(seed + 1)  # the draws come from the generator it is given
    from_rng = float(all(np.array_equal(u, v) for u, v in zip(again, (Wx, Wh, b)))
                     and not np.array_equal(other[0], Wx) and not np.array_equal(other[1], Wh))
    return (b, Wx.shape, Wh.shape, *uniform, from_rng)


# Chapter 5: Keras cells. The checks set every weight themselves (float32, as Keras keeps them),
# so the student's cell and the instructor's compute the same thing; TensorFlow is imported in
# the calls only, never by the grader.
KERAS_TOL = {"rtol": 1e-3, "atol": 1e-4}  # float32, two implementations of the same cell


def _f32(*arrays):
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def _keras_weights(rng, D, H, gates):
    return _f32(rng.standard_normal((D, gates * H)) * 0.4, rng.standard_normal((H, gates * H)) * 0.4,
                rng.standard_normal(gates * H) * 0.3)


def _ch5_cell(gates):
    def make(rng):
        N, T, D, H = 3, 7, 5, 6
        return (*_f32(rng.standard_normal((N, T, D))), *_keras_weights(rng, D, H, gates))
    return make


def _ch5_cell_gradients(gates, sizes):
    def make(rng):
        N, T, D, H = sizes
        return (*_f32(rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))), *_keras_weights(rng, D, H, gates))
    return make


def _cell_outputs(cls, with_cell_state):
    """Outputs at every step (and the final cell state), with and without unrolling; for an LSTM also
    the bias the cell starts with."""
    def call(namespace, x, *weights):
        import keras

        from . import guards

        cell = namespace[cls](weights[1].shape[0])
        keras.layers.RNN(cell)(x[:, :1])
        guards.own_keras_cell(cls, namespace[cls], cell)
        initial = [np.asarray(cell.get_weights()[2])] if with_cell_state else []
        cell.set_weights(list(weights))
        out = []
        for unroll in (False, True):
            got = keras.layers.RNN(cell, return_sequences=True, return_state=True, unroll=unroll)(x)
            out += [got[0], got[2]] if with_cell_state else [got[0]]
        return (*initial, *out)
    return call


def _cell_gradients(cls):
    def call(namespace, x, up, *weights):
        import keras
        import tensorflow as tf

        from . import guards

        cell = namespace[cls](weights[1].shape[0])
        keras.layers.RNN(cell)(x)
        guards.own_keras_cell(cls, namespace[cls], cell)
        cell.set_weights(list(weights))
        x, up = tf.constant(x), tf.constant(up)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(keras.layers.RNN(cell, return_sequences=True)(x) * up)
        grads = tape.gradient(loss, [x, *cell.trainable_weights])
        if len(grads) != 4 or any(g is None for g in grads):
            raise ValueError("the loss does not depend on exactly the inputs, kernel, recurrent_kernel and bias")
        return tuple(g.numpy() for g in grads)
    return call


def _ch5_layer_norm(rng):
    N, T, D, H = 3, 6, 4, 5
    gains = []
    for size in (4 * H, 4 * H, H):  # learned gain and offset of ln_x, ln_h, ln_c, away from 1 and 0
        gains += [1.0 + 0.5 * rng.standard_normal(size), 0.5 * rng.standard_normal(size)]
    return (*_f32(rng.standard_normal((N, T, D))), *_keras_weights(rng, D, H, 4), *_f32(*gains))


def _layer_norm_call(namespace, x, kernel, recurrent, bias, *gains):
    """The bias the cell starts with, then the outputs with the given weights, gains and offsets (set
    through the attributes the exercise states), and with both kernels scaled by 100 and by 1000
    (layer normalisation makes the last two nearly equal)."""
    import keras

    from . import guards

    cell = namespace["LayerNormLSTMCell"](recurrent.shape[0])
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    guards.own_keras_cell("LayerNormLSTMCell", namespace["LayerNormLSTMCell"], cell)
    out = [cell.bias.numpy()]
    for k, norm in enumerate((cell.ln_x, cell.ln_h, cell.ln_c)):
        norm.gamma.assign(gains[2 * k])
        norm.beta.assign(gains[2 * k + 1])
    for factor in (1.0, 100.0, 1000.0):
        cell.kernel.assign(kernel * factor)
        cell.recurrent_kernel.assign(recurrent * factor)
        cell.bias.assign(bias)
        out.append(layer(x).numpy())
    return tuple(out)


FEEDBACK_SIZES = (4, 3, 2)  # a GRU, an LSTM and a GRU cell, as in the hidden test


def _ch5_feedback(rng):
    N, T, D = 2, 5, 3
    (a, b, c), weights = FEEDBACK_SIZES, []
    for inputs, H, gates in ((D + b, a, 3), (a + c, b, 4), (b, c, 3)):  # layer l reads layer l+1 too
        weights += _keras_weights(rng, inputs, H, gates)
    return (*_f32(rng.standard_normal((N, T, D))), *weights)


def _feedback_call(namespace, x, *weights):
    import keras

    from . import guards

    a, b, c = FEEDBACK_SIZES
    cells = [keras.layers.GRUCell(a, reset_after=False), keras.layers.LSTMCell(b), keras.layers.GRUCell(c, reset_after=False)]
    layer = keras.layers.RNN(namespace["FeedbackStackCell"](cells), return_sequences=True)
    layer(x)  # builds the stack (and so its cells) once: a build need not guard against built cells
    guards.own_keras_cell("FeedbackStackCell", namespace["FeedbackStackCell"])
    for k, cell in enumerate(cells):
        cell.set_weights(list(weights[3 * k:3 * k + 3]))
    return (layer(x).numpy(),)


def _ch5_scan(rng):
    N, T, D, H = 3, 6, 4, 5
    return (*_f32(rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))),
            *_keras_weights(rng, D, H, 4))


def _scan_call(namespace, x, h0, c0, *weights):
    import inspect

    import keras
    import tensorflow as tf

    cell = keras.layers.LSTMCell(h0.shape[1])
    keras.layers.RNN(cell)(x)
    cell.set_weights(list(weights))
    from . import guards

    scans = [inspect.unwrap(tf.scan), inspect.unwrap(tf.compat.v1.scan)]  # any use of tf.scan counts
    got, calls = guards.forward_calls(scans, namespace["scan_rnn"], cell, x, [tf.constant(h0), tf.constant(c0)])
    if not calls:
        raise ValueError("scan_rnn never called tf.scan")
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        raise ValueError("for an LSTM cell scan_rnn must return two tensors, h and c at every step")
    return np.asarray(got[0]), np.asarray(got[1])


STEP_SIZES = [(3, 4, 5), (1, 2, 3), (4, 5, 2)]
RNN_GRADS = ("dx", "dh_prev", "dWxh", "dWhh", "dbh")
SEQ_GRADS = ("dx", "dh0", "dWx", "dWh", "db")
LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
KERAS_GRADS = ("gradient with respect to the inputs", "kernel", "recurrent_kernel", "bias")
GRAD_TOL = {"rtol": 1e-5, "atol": 1e-7}  # analytical against analytical; the tests allow 1e-6/1e-8 against numerical

# Which function each test cell's points depend on. A test that accepts a wrong helper
# (test_rnn_forward checks the loop against the student's own rnn_step_forward) gets a check of
# the same kind, so that honest code it accepts passes the check too.
SPECS = {
    "01_rnn_forward": (
        Check("rnn_step_forward", "rnn_step_forward", ("test_rnn_step_forward",), _ch1_step, pick=0),
        Check("rnn_forward", "rnn_forward", ("test_rnn_forward_reference",), _ch1_forward, pick=0),
        Check("rnn_forward as a loop of rnn_step_forward", "rnn_forward", ("test_rnn_forward",), _ch1_loop,
              call=_loop_call, labels=("rnn_forward minus the loop",)),
        Check("output_forward", "output_forward", ("test_output_forward",), _ch1_output),
        Check("softmax", "softmax", ("test_softmax",), _ch1_softmax),
        Check("softmax of large scores", "softmax", ("test_softmax_stable",), _ch1_softmax_large),
        Check("cross_entropy", "cross_entropy", ("test_cross_entropy",), _ch1_cross_entropy),
        Check("cross_entropy of large scores", "cross_entropy", ("test_cross_entropy",), _ch1_cross_entropy_large),
    ),
    "02_bptt": (
        Check("rnn_forward (chapter 1)", "rnn_forward", ("test_forward",), _ch2_forward, pick=0),
        Check("output_forward (chapter 1)", "output_forward", ("test_forward",), _ch2_output),
        Check("softmax (chapter 1)", "softmax", ("test_forward",), _ch2_scores),
        Check("cross_entropy (chapter 1)", "cross_entropy", ("test_forward",), _ch2_cross_entropy),
        Check("rnn_step_backward", "rnn_step_backward", ("test_rnn_step_backward",), _ch2_step_backward,
              call=_backward("rnn_step_forward", "rnn_step_backward", 5, 1, 5), labels=RNN_GRADS, **GRAD_TOL),
        Check("rnn_backward", "rnn_backward", ("test_rnn_backward",), _ch2_backward,
              call=_backward("rnn_forward", "rnn_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
        *(Check(f"rnn_backward with truncate={label}", "rnn_backward", ("test_rnn_backward_truncated",),
                _ch2_truncated(window), call=_backward("rnn_forward", "rnn_backward", 5, 1, 5, truncate=None),
                labels=SEQ_GRADS, **GRAD_TOL)
          for label, window in (("1", lambda T: 1), ("2", lambda T: 2), ("T-1", lambda T: T - 1),
                                ("T+3", lambda T: T + 3))),
        Check("cross_entropy_backward", "cross_entropy_backward", ("test_cross_entropy_backward",),
              _ch2_cross_entropy_backward, **GRAD_TOL),
        Check("output_backward", "output_backward", ("test_output_backward",), _ch2_output_backward,
              pick=(0, 1, 2), labels=("dh", "dWhy", "dby"), **GRAD_TOL),
        Check("clip_by_global_norm", "clip_by_global_norm", ("test_clip_by_global_norm",), _ch2_clip,
              call=_clip_call, labels=("clipped[0]", "clipped[1]", "clipped[2]", "norm", "grads[0] after the call",
                                       "grads[1] after the call", "grads[2] after the call",
                                       *(f"clipped all-zero gradient {k}" for k in range(3)), "norm of zeros")),
    ),
    "03_gradient_check": (
        Check("numerical_gradient", "numerical_gradient", ("test_numerical_gradient",), _ch3_numerical,
              call=_numerical_call, labels=("gradient with the default eps", "gradient with eps=1e-2")),
        Check("numerical_gradient restores x", "numerical_gradient", ("test_numerical_gradient_restores",),
              _ch3_restores, call=_restores_call,
              labels=("x restored", "an exception from f propagated", "x restored after the exception")),
        Check("relative_error", "relative_error", ("test_relative_error",), _ch3_relative, call=_relative_call,
              labels=("relative_error(a, b)", "relative_error of tiny values")),
        Check("gradient_check", "gradient_check", ("test_gradient_check",), _ch3_gradient_check,
              call=_gradient_check_call, rtol=1e-4, atol=1e-6,
              labels=("verdict with correct gradients", *(f"verdict on {k}" for k in GC_PARAMS),
                      *(f"error of {k}" for k in GC_PARAMS), "verdict with a planted bug",
                      *(f"verdict on {k} (planted bug)" for k in GC_PARAMS),
                      *(f"error of {k} (planted bug)" for k in GC_PARAMS), "worst index of a one-entry bug",
                      *(f"error of {k} with eps=1e-2" for k in GC_PARAMS),
                      *(f"verdict on {k} with tol={tol} (one 1% off)" for tol in ("1e-2", "1e-3") for k in GC_PARAMS),
                      "parameters unchanged")),
    ),
    "04_gated_cells": (
        Check("gru_step_forward", "gru_step_forward", ("test_gru_step_forward",), _ch4_step(3, STEP_SIZES), pick=0),
        Check("gru_step_backward", "gru_step_backward", ("test_gru_step_backward",), _ch4_step_backward(3),
              call=_backward("gru_step_forward", "gru_step_backward", 5, 1, 5),
              labels=("dx", "dh_prev", "dWx", "dWh", "db"), **GRAD_TOL),
        Check("gru_forward", "gru_forward", ("test_gru_forward",), _ch4_sequence(3, [(2, 5, 3, 4), (1, 3, 2, 2)]),
              pick=0),
        Check("gru_backward", "gru_backward", ("test_gru_backward",), _ch4_sequence_backward(3),
              call=_backward("gru_forward", "gru_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
        Check("lstm_step_forward", "lstm_step_forward", ("test_lstm_step_forward",), _ch4_step(4, STEP_SIZES, c=True),
              pick=(0, 1), labels=("h", "c")),
        Check("lstm_step_backward", "lstm_step_backward", ("test_lstm_step_backward",),
              _ch4_step_backward(4, c=True), call=_backward("lstm_step_forward", "lstm_step_backward", 6, 2, 6),
              labels=LSTM_GRADS, **GRAD_TOL),
        Check("lstm_forward", "lstm_forward", ("test_lstm_forward",), _ch4_sequence(4, [(2, 5, 3, 4), (1, 3, 2, 2)]),
              pick=0),
        Check("lstm_backward", "lstm_backward", ("test_lstm_backward",), _ch4_sequence_backward(4),
              call=_backward("lstm_forward", "lstm_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
        Check("init_lstm_params", "init_lstm_params", ("test_init_lstm_params",), _ch4_init, call=_init_call,
              labels=("b", "shape of Wx", "shape of Wh", "Wx uniform in the bounds", "Wh uniform in the bounds",
                      "weights drawn from the given generator")),
        Check("peephole_lstm_step_forward", "peephole_lstm_step_forward", ("test_peephole_lstm_forward",),
              _ch4_step(4, [(3, 4, 5)], peephole=True, c=True), pick=(0, 1), labels=("h", "c")),
        Check("peephole_lstm_step_backward", "peephole_lstm_step_backward", ("test_peephole_lstm_backward",),
              _ch4_step_backward(4, peephole=True, c=True),
              call=_backward("peephole_lstm_step_forward", "peephole_lstm_step_backward", 7, 2, 7),
              labels=(*LSTM_GRADS, "dp"), **GRAD_TOL),
        Check("cifg_lstm_step_forward", "cifg_lstm_step_forward", ("test_cifg_lstm_forward",), _ch4_step(3, [(3, 4, 5)], c=True),
              pick=(0, 1), labels=("h", "c")),
        Check("cifg_lstm_step_backward", "cifg_lstm_step_backward", ("test_cifg_lstm_backward",),
              _ch4_step_backward(3, c=True), call=_backward("cifg_lstm_step_forward", "cifg_lstm_step_backward", 6, 2, 6),
              labels=LSTM_GRADS, **GRAD_TOL),
    ),
    "05_tf_cells": (
        Check("GRUCell", "GRUCell", ("test_gru_cell",), _ch5_cell(3), call=_cell_outputs("GRUCell", False),
              labels=("outputs", "outputs with unroll=True"), **KERAS_TOL),
        Check("GRUCell gradients", "GRUCell", ("test_gru_cell_gradients",), _ch5_cell_gradients(3, (2, 6, 3, 4)),
              call=_cell_gradients("GRUCell"), labels=KERAS_GRADS, **KERAS_TOL),
        Check("LSTMCell", "LSTMCell", ("test_lstm_cell",), _ch5_cell(4), call=_cell_outputs("LSTMCell", True),
              labels=("initial bias", "outputs", "final c", "outputs with unroll=True", "final c with unroll=True"),
              **KERAS_TOL),
        Check("LSTMCell gradients", "LSTMCell", ("test_lstm_cell_gradients",), _ch5_cell_gradients(4, (2, 6, 3, 4)),
              call=_cell_gradients("LSTMCell"), labels=KERAS_GRADS, **KERAS_TOL),
        Check("LayerNormLSTMCell", "LayerNormLSTMCell", ("test_layer_norm_lstm_cell",), _ch5_layer_norm,
              call=_layer_norm_call, labels=("initial bias", "outputs", "outputs with kernels x100",
                                             "outputs with kernels x1000"), rtol=2e-3, atol=2e-4),
        Check("FeedbackStackCell", "FeedbackStackCell", ("test_feedback_stack_cell",), _ch5_feedback,
              call=_feedback_call, labels=("top outputs",), **KERAS_TOL),
        Check("scan_rnn", "scan_rnn", ("test_scan_rnn",), _ch5_scan, call=_scan_call,
              labels=("h at every step", "c at every step"), **KERAS_TOL),
    ),
}

# Calls per check: fresh inputs each time. Chapter 5's calls build Keras layers, which is slow.
CALLS = {"05_tf_cells": 1}
CALLS_PER_CHECK = 3  # elsewhere


def calls(assignment):
    return CALLS.get(assignment, CALLS_PER_CHECK)


def available(assignment):
    return assignment in SPECS


# --------------------------------------------------------------------------- inputs


def make_inputs(assignment, seed):
    """{f"{check}_{call}_{arg}": array} for every call of every check, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for i, check in enumerate(SPECS[assignment]):
        for call in range(calls(assignment)):
            for j, arg in enumerate(check.make_args(rng)):
                arrays[f"{i}_{call}_{j}"] = np.asarray(arg)
    return arrays


def seed_for(digest, nonce):
    """Inputs of a submission's own: from its hash and a nonce drawn once per grading run."""
    return int.from_bytes(hashlib.sha256(f"{digest}:{nonce}".encode()).digest()[:8], "little")


def _calls(arrays):
    calls = {}
    for key in sorted(arrays, key=lambda k: tuple(int(p) for p in k.split("_"))):
        i, call, j = (int(p) for p in key.split("_"))
        calls.setdefault((i, call), []).append(arrays[key])
    return calls


# --------------------------------------------------------------------------- programs


def code_cells(nb, *, skip=(), include_tests=False):
    """Source of the code cells to run: every code cell but test cells (and ``skip`` indices)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or index in skip or (meta.get("grade") and not include_tests):
            continue
        cells.append(cell.source)
    return cells


def _plain_python(source):
    """IPython syntax (magics, ``!cmd``) becomes plain Python that fails at run time, not a SyntaxError."""
    try:
        compile(source, "<cell>", "exec")
        return source  # plain Python already (IPython is slow to import: only when needed)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def _call_seconds(assignment):
    return CALL_SECONDS.get(assignment, CHILD_TIMEOUT_PER_CALL)


def _run_cells(cells, namespace, seconds):
    errors = []
    for n, source in enumerate(cells):
        try:
            with _time_limit(seconds * 3):
                exec(compile(_plain_python(source), f"<cell {n}>", "exec"), namespace)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - a failing cell is the submission's
            errors.append(f"cell {n}: {type(exc).__name__}: {str(exc)[:200]}")
    return errors


class _Timeout(Exception):
    pass


class _time_limit:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        self.active = threading.current_thread() is threading.main_thread()
        if not self.active:  # the reference, in a grader thread: trusted code, no alarm needed
            return

        def on_alarm(signum, frame):
            raise _Timeout(f"took longer than {self.seconds} s")

        self.previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(int(self.seconds))

    def __exit__(self, *exc):
        if not self.active:
            return False
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def _call_all(assignment, namespace, arrays):
    """{f"r{i}_{call}_{part}": float64 array} and {f"e{i}_{call}": message} for every call."""
    results = {}
    for (i, call), args in _calls(arrays).items():
        check = SPECS[assignment][i]
        args = [a.item() if a.ndim == 0 else a.copy() for a in args]
        try:
            with _time_limit(_call_seconds(assignment)):
                parts = [np.array(part, dtype=np.float64) for part in check.results(namespace, args)]
            results.update({f"r{i}_{call}_{k}": part for k, part in enumerate(parts)})
        except BaseException as exc:  # noqa: BLE001
            results[f"e{i}_{call}"] = np.array(f"{type(exc).__name__}: {str(exc)[:300]}")
    return results


def _parts(results, i, call):
    """The results of one call, in order (None if it failed)."""
    if f"e{i}_{call}" in results:
        return None
    parts, k = [], 0
    while f"r{i}_{call}_{k}" in results:
        parts.append(results[f"r{i}_{call}_{k}"])
        k += 1
    return parts if parts else None


def child(assignment, cells_path, inputs_path, out_path):
    """In the sandbox: run the submission's cells, call its functions, write what they returned."""
    cells = json.loads(Path(cells_path).read_text())
    with np.load(inputs_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    namespace = {"__name__": "__main__"}
    cell_errors = _run_cells(cells, namespace, _call_seconds(assignment))
    results = _call_all(assignment, namespace, arrays)
    results["cell_errors"] = np.array(json.dumps(cell_errors))
    tmp = Path(str(out_path) + ".tmp.npz")
    np.savez(tmp, **results)
    os.replace(tmp, out_path)


def solution_cells(solution_nb):
    """The instructor notebook's setup and solution cells (not its tests)."""
    return [c.source for c in solution_nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
            and not c.metadata["nbgrader"].get("grade")]


def _launch(assignment, cells, arrays, folder, cwd, env, sandbox_settings=None):
    """Start ``python -m autograder.crosscheck`` on ``cells`` and ``arrays`` written to ``folder``;
    return (the process, its stderr file, the path its results will have)."""
    from . import sandbox

    folder.mkdir(parents=True, exist_ok=True)
    inputs, cells_path, out = folder / "inputs.npz", folder / "cells.json", folder / "results.npz"
    np.savez(inputs, **arrays)
    cells_path.write_text(json.dumps(cells))
    for path in (inputs, cells_path):
        os.chmod(path, 0o644)
    cmd = [sys.executable, "-I", "-m", "autograder.crosscheck", assignment, str(cells_path), str(inputs), str(out)]
    env = dict(env)
    if sandbox_settings is not None:
        os.chown(folder, sandbox_settings.uid, sandbox_settings.uid)
        sandbox_settings.writable = [*sandbox_settings.writable, str(folder)]
        env[sandbox.ENV_VAR] = sandbox_settings.to_env()
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox", "run", "--", *cmd]
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True, preexec_fn=sandbox.dies_with_parent())
    return proc, err, out


def _finish(launched, deadline, timeout):
    """Wait for a launched program (killing its process group at the deadline); return (its
    results, or {} if there are none; what went wrong, as a list of at most one line)."""
    proc, err, out = launched
    try:
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever it left running
        except ProcessLookupError:
            pass
        proc.wait()
    with err:
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    detail = [f"it did not finish in {timeout} s"] if rc is None else (lines[-1:] if rc else [])
    try:
        with np.load(out, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}, detail
    except Exception as exc:  # noqa: BLE001 - no results: every check fails
        return {}, detail or [f"no results ({type(exc).__name__})"]


def reference(assignment, solution_nb, arrays, timeout=None):
    """The instructor's functions on the same inputs: trusted code, no sandbox, but in a process of
    its own, so that the grader never imports what a solution imports (TensorFlow, for chapter 5)."""
    timeout = timeout or TIMEOUT.get(assignment, DEFAULT_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="agr-xc-ref-") as folder:
        launched = _launch(assignment, solution_cells(solution_nb), arrays, Path(folder), folder, _env())
        return _checked_reference(assignment, *_finish(launched, time.monotonic() + timeout, timeout))


def _checked_reference(assignment, want, detail):
    errors = json.loads(str(want["cell_errors"])) if "cell_errors" in want else []
    if errors or not want:
        raise RuntimeError(f"the instructor notebook of {assignment} failed in the cross-check: {(errors or detail)[:3]}")
    return want


def _env():
    return dict(os.environ, NBGRADER_EXECUTION="autograde", PYTHONHASHSEED="0")


# --------------------------------------------------------------------------- comparing


def _difference(check, got, want):
    """What is wrong with one call's results (None: they agree with the reference's)."""
    if len(got) != len(want):
        return f"it returned {len(got)} results, the reference {len(want)}"
    for k, (a, b) in enumerate(zip(got, want)):
        what = f"{check.label(k)}: " if len(want) > 1 or check.labels else ""
        if a.shape != b.shape:
            return f"{what}it returned shape {a.shape}, the reference {b.shape}"
        if not np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            return f"{what}it returned nan or inf"
        if a.size and not np.allclose(a, b, rtol=check.rtol, atol=check.atol):
            return f"{what}it differs from the reference by up to {float(np.max(np.abs(a - b))):.3g}"
    return None


def compare(assignment, got, want, scores, points):
    """(flag reasons, check lines) from the child's results, the reference and nbgrader's scores."""
    reasons, lines = [], []
    for i, check in enumerate(SPECS[assignment]):
        problem = None
        for call in range(calls(assignment)):
            expected = _parts(want, i, call)
            if expected is None:
                raise RuntimeError(f"the reference failed on {check.name}: {want.get(f'e{i}_{call}')}")
            returned = _parts(got, i, call)
            if returned is None:
                problem = f"it failed: {str(got.get(f'e{i}_{call}', 'no result'))[:200]}"
                break
            problem = _difference(check, returned, expected)
            if problem:
                break
        lines.append(f"{check.name}: {'ok' if problem is None else problem}")
        if problem is None:
            continue
        awarded = [t for t in check.tests if scores.get(t, 0.0) > 0]
        if awarded:
            given = ", ".join(f"{t} {scores[t]:g}/{points[t]:g}" for t in awarded)
            reasons.append(f"nbgrader gave {given}, but {check.function}, re-run on fresh inputs outside the "
                           f"grading kernel: {problem}")
    return reasons, lines


DEFAULT_TIMEOUT = 120  # seconds for the whole child: its cells and every call
TIMEOUT = {"05_tf_cells": 300}  # importing TensorFlow and building Keras layers


def run(assignment, submitted_nb, solution_nb, scores, points, seed, workdir, *, skip=(), sandbox_settings=None,
        timeout=None):
    """Cross-check one submission; return (flag reasons, report lines).

    The submission's cells run in ``workdir`` (in the sandbox of ``sandbox_settings``, an
    ``autograder.sandbox.Settings``; None: a plain subprocess, for grading without the sandbox)
    while the reference runs, at the same time, on its own copy of the inputs in a folder of its own.
    """
    timeout = timeout or TIMEOUT.get(assignment, DEFAULT_TIMEOUT)
    workdir = Path(workdir)
    arrays = make_inputs(assignment, seed)
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="agr-xc-") as cwd, tempfile.TemporaryDirectory(prefix="agr-xc-ref-") as ref:
        child_run = _launch(assignment, code_cells(submitted_nb, skip=skip), arrays, workdir, cwd, _env(),
                            sandbox_settings)
        reference_run = _launch(assignment, solution_cells(solution_nb), arrays, Path(ref), ref, _env())
        got, detail = _finish(child_run, deadline, timeout)
        want = _checked_reference(assignment, *_finish(reference_run, deadline + timeout, timeout))
    if not got:
        got = {f"e{i}_{c}": np.array("the cross-check could not run the submission's code: " + "; ".join(detail))
               for i in range(len(SPECS[assignment])) for c in range(calls(assignment))}
    reasons, lines = compare(assignment, got, want, scores, points)
    cell_errors = json.loads(str(got["cell_errors"])) if "cell_errors" in got else []
    report = [f"cross-check of {assignment}, inputs drawn with seed {seed}", *lines,
              *(f"(a cell failed outside the grading kernel: {e})" for e in cell_errors)]
    (workdir / "report.txt").write_text("\n".join(report + [f"FLAGGED: {r}" for r in reasons]) + "\n")
    return reasons, report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    assignment, cells, inputs, out = argv
    try:
        child(assignment, cells, inputs, out)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    os._exit(main())
