"""Chapter 5 (05_tf_cells): Keras cells (GRU, LSTM, layer-normalised LSTM, a feedback stack) and tf.scan.

The checks set every weight themselves (float32, as Keras keeps them), so the student's cell and
the instructor's compute the same thing; TensorFlow is imported in the adapters only, never by
the grader.
"""

import inspect

import numpy as np

from .spec import Adapter, Check, MakeArgs, Namespace, Rng

KERAS_TOL = {"rtol": 1e-3, "atol": 1e-4}  # float32, two implementations of the same cell
KERAS_GRADS = ("gradient with respect to the inputs", "kernel", "recurrent_kernel", "bias")
FEEDBACK_SIZES = (4, 3, 2)  # a GRU, an LSTM and a GRU cell, as in the hidden test


def as_float32(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def keras_weights(rng: Rng, D: int, H: int, gates: int) -> tuple[np.ndarray, ...]:
    """kernel, recurrent_kernel and bias of a cell with ``gates`` gates."""
    return as_float32(rng.standard_normal((D, gates * H)) * 0.4, rng.standard_normal((H, gates * H)) * 0.4,
                      rng.standard_normal(gates * H) * 0.3)


def cell_inputs(gates: int) -> MakeArgs:
    def make(rng: Rng) -> tuple:
        N, T, D, H = 3, 7, 5, 6
        return (*as_float32(rng.standard_normal((N, T, D))), *keras_weights(rng, D, H, gates))

    return make


def cell_gradient_inputs(gates: int, sizes: tuple[int, int, int, int]) -> MakeArgs:
    def make(rng: Rng) -> tuple:
        N, T, D, H = sizes
        return (*as_float32(rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))),
                *keras_weights(rng, D, H, gates))

    return make


def cell_outputs(cls: str, with_cell_state: bool) -> Adapter:
    """Outputs at every step (and the final cell state), with and without unrolling; for an LSTM also
    the bias the cell starts with."""

    def adapter(namespace: Namespace, x: np.ndarray, *weights: np.ndarray) -> tuple:
        import keras

        from .. import guards

        cell = namespace[cls](weights[1].shape[0])
        keras.layers.RNN(cell)(x[:, :1])
        guards.own_keras_cell(cls, namespace[cls], cell)
        initial = [np.asarray(cell.get_weights()[2])] if with_cell_state else []
        cell.set_weights(list(weights))
        out = []
        for unroll in (False, True):
            returned = keras.layers.RNN(cell, return_sequences=True, return_state=True, unroll=unroll)(x)
            out += [returned[0], returned[2]] if with_cell_state else [returned[0]]
        return (*initial, *out)

    return adapter


def cell_gradients(cls: str) -> Adapter:
    """Gradients of sum(outputs * upstream) with respect to the inputs and the cell's three weights."""

    def adapter(namespace: Namespace, x: np.ndarray, up: np.ndarray, *weights: np.ndarray) -> tuple:
        import keras
        import tensorflow as tf

        from .. import guards

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

    return adapter


def layer_norm_inputs(rng: Rng) -> tuple:
    N, T, D, H = 3, 6, 4, 5
    gains = []
    for size in (4 * H, 4 * H, H):  # learned gain and offset of ln_x, ln_h, ln_c, away from 1 and 0
        gains += [1.0 + 0.5 * rng.standard_normal(size), 0.5 * rng.standard_normal(size)]
    return (*as_float32(rng.standard_normal((N, T, D))), *keras_weights(rng, D, H, 4), *as_float32(*gains))


def layer_norm_results(namespace: Namespace, x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray,
                       bias: np.ndarray, *gains: np.ndarray) -> tuple:
    """The bias the cell starts with, then the outputs with the given weights, gains and offsets (set
    through the attributes the exercise states), and with both kernels scaled by 100 and by 1000
    (layer normalisation makes the last two nearly equal)."""
    import keras

    from .. import guards

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


def feedback_inputs(rng: Rng) -> tuple:
    N, T, D = 2, 5, 3
    (a, b, c), weights = FEEDBACK_SIZES, []
    for inputs, H, gates in ((D + b, a, 3), (a + c, b, 4), (b, c, 3)):  # layer l reads layer l+1 too
        weights += keras_weights(rng, inputs, H, gates)
    return (*as_float32(rng.standard_normal((N, T, D))), *weights)


def feedback_results(namespace: Namespace, x: np.ndarray, *weights: np.ndarray) -> tuple[np.ndarray]:
    """The top layer's outputs of a FeedbackStackCell over Keras' own cells with the given weights."""
    import keras

    from .. import guards

    a, b, c = FEEDBACK_SIZES
    cells = [keras.layers.GRUCell(a, reset_after=False), keras.layers.LSTMCell(b), keras.layers.GRUCell(c, reset_after=False)]
    layer = keras.layers.RNN(namespace["FeedbackStackCell"](cells), return_sequences=True)
    layer(x)  # builds the stack (and so its cells) once: a build need not guard against built cells
    guards.own_keras_cell("FeedbackStackCell", namespace["FeedbackStackCell"])
    for k, cell in enumerate(cells):
        cell.set_weights(list(weights[3 * k:3 * k + 3]))
    return (layer(x).numpy(),)


def scan_inputs(rng: Rng) -> tuple:
    N, T, D, H = 3, 6, 4, 5
    return (*as_float32(rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))),
            *keras_weights(rng, D, H, 4))


def scan_results(namespace: Namespace, x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
                 *weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h and c at every step from scan_rnn over a Keras LSTM cell, which must go through tf.scan."""
    import keras
    import tensorflow as tf

    from .. import guards

    cell = keras.layers.LSTMCell(h0.shape[1])
    keras.layers.RNN(cell)(x)
    cell.set_weights(list(weights))
    scans = [inspect.unwrap(tf.scan), inspect.unwrap(tf.compat.v1.scan)]  # any use of tf.scan counts
    returned, calls = guards.forward_calls(scans, namespace["scan_rnn"], cell, x, [tf.constant(h0), tf.constant(c0)])
    if not calls:
        raise ValueError("scan_rnn never called tf.scan")
    if not isinstance(returned, (list, tuple)) or len(returned) != 2:
        raise ValueError("for an LSTM cell scan_rnn must return two tensors, h and c at every step")
    return np.asarray(returned[0]), np.asarray(returned[1])


CHECKS = (
    Check("GRUCell", "GRUCell", ("test_gru_cell",), cell_inputs(3), adapter=cell_outputs("GRUCell", False),
          labels=("outputs", "outputs with unroll=True"), **KERAS_TOL),
    Check("GRUCell gradients", "GRUCell", ("test_gru_cell_gradients",), cell_gradient_inputs(3, (2, 6, 3, 4)),
          adapter=cell_gradients("GRUCell"), labels=KERAS_GRADS, **KERAS_TOL),
    Check("LSTMCell", "LSTMCell", ("test_lstm_cell",), cell_inputs(4), adapter=cell_outputs("LSTMCell", True),
          labels=("initial bias", "outputs", "final c", "outputs with unroll=True", "final c with unroll=True"),
          **KERAS_TOL),
    Check("LSTMCell gradients", "LSTMCell", ("test_lstm_cell_gradients",), cell_gradient_inputs(4, (2, 6, 3, 4)),
          adapter=cell_gradients("LSTMCell"), labels=KERAS_GRADS, **KERAS_TOL),
    Check("LayerNormLSTMCell", "LayerNormLSTMCell", ("test_layer_norm_lstm_cell",), layer_norm_inputs,
          adapter=layer_norm_results, labels=("initial bias", "outputs", "outputs with kernels x100",
                                              "outputs with kernels x1000"), rtol=2e-3, atol=2e-4),
    Check("FeedbackStackCell", "FeedbackStackCell", ("test_feedback_stack_cell",), feedback_inputs,
          adapter=feedback_results, labels=("top outputs",), **KERAS_TOL),
    Check("scan_rnn", "scan_rnn", ("test_scan_rnn",), scan_inputs, adapter=scan_results,
          labels=("h at every step", "c at every step"), **KERAS_TOL),
)
