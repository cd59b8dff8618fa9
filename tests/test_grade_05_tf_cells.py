"""Chapter 5 (recurrent cells in TensorFlow 2 / Keras 3) graded end to end.

Keras' built-in cells with copied weights are the oracle. Known-wrong versions: swapped gates, a
missing forget bias, a cell returning the previous state; cells that are not the student's own
(no points for that cell, whatever their values): one that wraps Keras' own GRUCell, a
`functools.partial` of it, a subclass of it, `LSTMCell = keras.layers.LSTMCell`, a layer-norm
cell that subclasses Keras' LSTMCell; a layer-norm cell without the normalisation of the
recurrent projection, or without a learned gain and offset; no feedback in the stack; a scan that
keeps only outputs, or a Python loop in place of `tf.scan`. Known-right versions (the statement
allows them, so they keep every point): the stack's `build` without an `if not cell.built` test,
the layer-norm weights created in another order under other names (the tests read attributes),
and `scan_rnn` traced by `tf.function`.
"""

import pytest
from classes import KERNEL_CHEATS, Chapter, standard_tests

pytestmark = [pytest.mark.slow]

GRU, GRU_G, LSTM, LSTM_G = "test_gru_cell", "test_gru_cell_gradients", "test_lstm_cell", "test_lstm_cell_gradients"
LN, STACK, SCAN = "test_layer_norm_lstm_cell", "test_feedback_stack_cell", "test_scan_rnn"

LN_CALL = """    def call(self, inputs, states):
        h_prev, c_prev = states[0], states[1]
        H = self.units"""

CH = Chapter(
    assignment="05_tf_cells",
    notebook="tf_cells",
    points={GRU: 3, GRU_G: 2, LSTM: 3, LSTM_G: 2, LN: 2, STACK: 2, SCAN: 2},
    timeout=120,  # TensorFlow's import and first traces take a while on two busy cores
    mutants={
        "gru_update_and_reset_gates_swapped": (
            {"GRUCell": [("z = tf.sigmoid(ax[:, :H] + tf.matmul(h_prev, self.recurrent_kernel[:, :H]))\n"
                          "        r = tf.sigmoid(ax[:, H:2 * H] + tf.matmul(h_prev, self.recurrent_kernel[:, H:2 * H]))",
                          "r = tf.sigmoid(ax[:, :H] + tf.matmul(h_prev, self.recurrent_kernel[:, :H]))\n"
                          "        z = tf.sigmoid(ax[:, H:2 * H] + tf.matmul(h_prev, self.recurrent_kernel[:, H:2 * H]))")]},
            {GRU, GRU_G},
        ),
        "gru_cell_returns_the_previous_state": (
            {"GRUCell": [("h = z * h_prev + (1 - z) * cand", "h = h_prev")]},
            {GRU, GRU_G},
        ),
        "gru_cell_wraps_keras_gru_cell": (
            {"GRUCell": [
                ("self.kernel = self.add_weight(shape=(D, 3 * H), initializer=\"glorot_uniform\", name=\"kernel\")\n"
                 "        self.recurrent_kernel = self.add_weight(shape=(H, 3 * H), initializer=\"orthogonal\", name=\"recurrent_kernel\")\n"
                 "        self.bias = self.add_weight(shape=(3 * H,), initializer=\"zeros\", name=\"bias\")",
                 "self.inner = keras.layers.GRUCell(H, reset_after=False)\n"
                 "        self.inner.build(input_shape)"),
                ("h = z * h_prev + (1 - z) * cand", "h, _ = self.inner(inputs, [h_prev])"),
                ("        ax = tf.matmul(inputs, self.kernel) + self.bias\n", ""),
                ("        z = tf.sigmoid(ax[:, :H] + tf.matmul(h_prev, self.recurrent_kernel[:, :H]))\n", ""),
                ("        r = tf.sigmoid(ax[:, H:2 * H] + tf.matmul(h_prev, self.recurrent_kernel[:, H:2 * H]))\n", ""),
                ("        cand = tf.tanh(ax[:, 2 * H:] + tf.matmul(r * h_prev, self.recurrent_kernel[:, 2 * H:]))\n", ""),
            ]},
            {GRU, GRU_G},
        ),
        "gru_cell_is_a_partial_of_keras_gru_cell": (  # same values as the solution: refused by the guard alone
            {"GRUCell": [("        return h, [h]",
                          "        return h, [h]\n\n\nimport functools\n\n"
                          "GRUCell = functools.partial(keras.layers.GRUCell, reset_after=False)")]},
            {GRU, GRU_G},
        ),
        "gru_cell_subclasses_keras_gru_cell": (
            {"GRUCell": [("        return h, [h]",
                          "        return h, [h]\n\n\nclass GRUCell(keras.layers.GRUCell):\n"
                          "    def __init__(self, units, **kwargs):\n"
                          "        super().__init__(units, reset_after=False, **kwargs)")]},
            {GRU, GRU_G},
        ),
        "lstm_cell_is_keras_lstm_cell": (
            {"LSTMCell": [("        return h, [h, c]", "        return h, [h, c]\n\n\nLSTMCell = keras.layers.LSTMCell")]},
            {LSTM, LSTM_G},
        ),
        "lstm_input_and_forget_gates_swapped": (
            {"LSTMCell": [("i = tf.sigmoid(a[:, :H])\n        f = tf.sigmoid(a[:, H:2 * H])",
                           "f = tf.sigmoid(a[:, :H])\n        i = tf.sigmoid(a[:, H:2 * H])")]},
            {LSTM, LSTM_G},
        ),
        "lstm_missing_forget_bias": (
            {"LSTMCell": [("bias[H:2 * H] = 1.0", "bias[H:2 * H] = 0.0")]},
            {LSTM},
        ),
        "layer_norm_missing_on_the_recurrent_projection": (
            {"LayerNormLSTMCell": [("self.ln_h(tf.matmul(h_prev, self.recurrent_kernel))",
                                    "tf.matmul(h_prev, self.recurrent_kernel)")]},
            {LN},
        ),
        "layer_norm_without_learned_gain_and_offset": (  # normalised by hand; the sublayers built but unused
            {"LayerNormLSTMCell": [
                ("class LayerNormLSTMCell(keras.layers.Layer):",
                 "def normalise(v):\n"
                 "    mean, variance = tf.nn.moments(v, axes=[-1], keepdims=True)\n"
                 "    return (v - mean) / tf.sqrt(variance + 1e-3)\n\n\n"
                 "class LayerNormLSTMCell(keras.layers.Layer):"),
                ("self.ln_x(tf.matmul(inputs, self.kernel)) + self.ln_h(tf.matmul(h_prev, self.recurrent_kernel))",
                 "normalise(tf.matmul(inputs, self.kernel)) + normalise(tf.matmul(h_prev, self.recurrent_kernel))"),
                ("tf.tanh(self.ln_c(c))", "tf.tanh(normalise(c))"),
            ]},
            {LN},
        ),
        "layer_norm_cell_subclasses_keras_lstm_cell": (  # Keras' weights and forget bias, the student's own call
            {"LayerNormLSTMCell": [
                ("        return h, [h, c]",
                 "        return h, [h, c]\n\n\n"
                 "class LayerNormLSTMCell(keras.layers.LSTMCell):\n"
                 "    def __init__(self, units, **kwargs):\n"
                 "        super().__init__(units, **kwargs)\n"
                 "        self.ln_x = keras.layers.LayerNormalization()\n"
                 "        self.ln_h = keras.layers.LayerNormalization()\n"
                 "        self.ln_c = keras.layers.LayerNormalization()\n\n"
                 "    def build(self, input_shape):\n"
                 "        super().build(input_shape)\n"
                 "        self.ln_x.build((None, 4 * self.units))\n"
                 "        self.ln_h.build((None, 4 * self.units))\n"
                 "        self.ln_c.build((None, self.units))\n\n"
                 "    def call(self, inputs, states, training=False):\n"
                 "        h_prev, c_prev = states[0], states[1]\n"
                 "        H = self.units\n"
                 "        a = self.ln_x(tf.matmul(inputs, self.kernel)) + self.ln_h(tf.matmul(h_prev, self.recurrent_kernel)) + self.bias\n"
                 "        c = tf.sigmoid(a[:, H:2 * H]) * c_prev + tf.sigmoid(a[:, :H]) * tf.tanh(a[:, 2 * H:3 * H])\n"
                 "        h = tf.sigmoid(a[:, 3 * H:]) * tf.tanh(self.ln_c(c))\n"
                 "        return h, [h, c]"),
            ]},
            {LN},
        ),
        "stack_without_feedback_from_above": (
            {"FeedbackStackCell": [("x = tf.concat([x, hidden(states[l + 1])], axis=-1)",
                                    "x = tf.concat([x, tf.zeros_like(hidden(states[l + 1]))], axis=-1)")]},
            {STACK},
        ),
        "scan_returns_only_the_outputs": (
            {"scan_rnn": [("result = [tf.transpose(s, [1, 0, 2]) for s in states]",
                           "result = [tf.transpose(states[0], [1, 0, 2])]")]},
            {SCAN},
        ),
        "scan_rnn_with_a_python_loop": (  # the right states, but no tf.scan
            {"scan_rnn": [
                ("    def step(state, x_t):\n"
                 "        _, new_state = cell(x_t, list(state))\n"
                 "        return list(new_state)\n\n"
                 "    time_major = tf.transpose(tf.convert_to_tensor(x), [1, 0, 2])\n"
                 "    states = tf.scan(step, time_major, initializer=list(initial_state))\n"
                 "    result = [tf.transpose(s, [1, 0, 2]) for s in states]",
                 "    state, every = list(initial_state), []\n"
                 "    for t in range(x.shape[1]):\n"
                 "        _, state = cell(x[:, t], state)\n"
                 "        state = list(state)\n"
                 "        every.append(state)\n"
                 "    result = [tf.stack([s[k] for s in every], axis=1) for k in range(len(state))]"),
            ]},
            {SCAN},
        ),
    },
    right={
        "stack_build_without_the_built_test": {
            "FeedbackStackCell": [("            if not cell.built:\n                cell.build((None, size + above))",
                                   "            cell.build((None, size + above))")],
        },
        "layer_norm_weights_in_another_order_under_other_names": {
            "LayerNormLSTMCell": [
                ("        self.kernel = self.add_weight(shape=(D, 4 * H), initializer=\"glorot_uniform\", name=\"kernel\")\n"
                 "        self.recurrent_kernel = self.add_weight(shape=(H, 4 * H), initializer=\"orthogonal\", name=\"recurrent_kernel\")\n"
                 "        bias = np.zeros(4 * H, dtype=\"float32\")\n"
                 "        bias[H:2 * H] = 1.0\n"
                 "        self.bias = self.add_weight(shape=(4 * H,), initializer=keras.initializers.Constant(bias), name=\"bias\")\n"
                 "        self.ln_x.build((None, 4 * H))\n"
                 "        self.ln_h.build((None, 4 * H))\n"
                 "        self.ln_c.build((None, H))",
                 "        self.ln_c.build((None, H))\n"
                 "        self.ln_h.build((None, 4 * H))\n"
                 "        self.ln_x.build((None, 4 * H))\n"
                 "        bias = np.zeros(4 * H, dtype=\"float32\")\n"
                 "        bias[H:2 * H] = 1.0\n"
                 "        self.bias = self.add_weight(shape=(4 * H,), initializer=keras.initializers.Constant(bias))\n"
                 "        self.recurrent_kernel = self.add_weight(shape=(H, 4 * H), initializer=\"orthogonal\", name=\"U\")\n"
                 "        self.kernel = self.add_weight(shape=(D, 4 * H), initializer=\"glorot_uniform\", name=\"W\")"),
            ],
        },
        "scan_rnn_traced_by_tf_function": {
            "scan_rnn": [("def scan_rnn(cell, x, initial_state):", "@tf.function\ndef scan_rnn(cell, x, initial_state):")],
        },
    },
    cheats=KERNEL_CHEATS,
)

globals().update(standard_tests(CH))
