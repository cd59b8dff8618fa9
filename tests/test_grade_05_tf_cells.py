"""Chapter 5 (recurrent cells in TensorFlow 2 / Keras 3) graded end to end.

Keras' built-in cells with copied weights are the oracle. Known-wrong versions: swapped gates, a
missing forget bias, a cell returning the previous state, a cell that wraps Keras' own GRUCell
(not an implementation: no points), no feedback in the stack, a scan that keeps only outputs.
"""

from classes import KERNEL_CHEATS, Chapter, standard_tests

GRU, GRU_G, LSTM, LSTM_G = "test_gru_cell", "test_gru_cell_gradients", "test_lstm_cell", "test_lstm_cell_gradients"
LN, STACK, SCAN = "test_layer_norm_lstm_cell", "test_feedback_stack_cell", "test_scan_rnn"

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
    },
    cheats=KERNEL_CHEATS,
)

globals().update(standard_tests(CH))
