"""Chapter 6 (an RNN classifier reading MNIST row by row) graded end to end.

Known-wrong versions: the pasted LSTM cell with swapped gates, without its forget bias, or
returning the previous state; Keras' own LSTMCell under the student's name (an alias, a subclass,
a `functools.partial`: no points for the cell, whatever its values); a classifier that reads the
first row's state instead of the last; a softmax in the model on top of the loss's own; a loss
that takes the logits for probabilities; clipping each weight's gradient (`clipnorm`) where the
statement asks for the global norm (`global_clipnorm`); dropout ignored; no early stopping. The classifier's tests use Keras' built-in cells, so a broken
cell loses the cell's points only. The softmax-twice version also loses both training tests: its
accuracy is fine (Keras 3 notices the softmax and takes the logits from under it), but Keras warns
on stderr that the loss received a softmax's output with from_logits=True, and nbgrader fails a
test cell that writes to stderr; the warning is the feedback the student needs.
"""

import pytest
from classes import Chapter, standard_tests

pytestmark = [pytest.mark.slow]

LSTM, BUILD, COMPILE, GRADS = "test_lstm_cell", "test_build_classifier", "test_compile_classifier", "test_gradients_reach_every_weight"
TRAIN, SHORT = "test_train_classifier", "test_short_training_run"

CH = Chapter(
    assignment="06_mnist_classifier",
    notebook="mnist_classifier",
    points={LSTM: 2, BUILD: 3, COMPILE: 1, GRADS: 1, TRAIN: 1, SHORT: 3},
    timeout=120,  # TensorFlow's import and the short training run on two busy cores
    mutants={
        "lstm_input_and_forget_gates_swapped": (
            {"lstm_cell": [("i = tf.sigmoid(a[:, :H])\n        f = tf.sigmoid(a[:, H:2 * H])",
                            "f = tf.sigmoid(a[:, :H])\n        i = tf.sigmoid(a[:, H:2 * H])")]},
            {LSTM},
        ),
        "lstm_missing_forget_bias": (
            {"lstm_cell": [("bias[H:2 * H] = 1.0", "bias[H:2 * H] = 0.0")]},
            {LSTM},
        ),
        "lstm_cell_returns_the_previous_state": (
            {"lstm_cell": [("return h, [h, c]", "return h, [h_prev, c_prev]")]},
            {LSTM},
        ),
        "lstm_cell_is_keras_lstm_cell": (
            {"lstm_cell": [("        return h, [h, c]", "        return h, [h, c]\n\n\nLSTMCell = keras.layers.LSTMCell")]},
            {LSTM},
        ),
        "lstm_cell_subclasses_keras_lstm_cell": (
            {"lstm_cell": [("        return h, [h, c]",
                            "        return h, [h, c]\n\n\nclass LSTMCell(keras.layers.LSTMCell):\n    pass")]},
            {LSTM},
        ),
        "lstm_cell_is_a_partial_of_keras_lstm_cell": (
            {"lstm_cell": [("        return h, [h, c]",
                            "        return h, [h, c]\n\n\nimport functools\n\n"
                            "LSTMCell = functools.partial(keras.layers.LSTMCell, unit_forget_bias=True)")]},
            {LSTM},
        ),
        "classifier_reads_the_first_time_step": (
            {"build_classifier": [("return_sequences=layer < num_layers - 1)(x)", "return_sequences=True)(x)"),
                                  ("Dense(10, kernel_regularizer=regularizer)(x)",
                                   "Dense(10, kernel_regularizer=regularizer)(x[:, 0])")]},
            {BUILD, GRADS, SHORT},
        ),
        "softmax_applied_twice": (
            {"build_classifier": [("Dense(10, kernel_regularizer=regularizer)",
                                   "Dense(10, activation=\"softmax\", kernel_regularizer=regularizer)")]},
            {BUILD, COMPILE, TRAIN, SHORT},
        ),
        "loss_takes_logits_for_probabilities": (
            {"compile_classifier": [("from_logits=True", "from_logits=False")]},
            {COMPILE, SHORT},
        ),
        "clipping_each_weight_with_clipnorm": (
            {"compile_classifier": [("keras.optimizers.Adam(learning_rate, global_clipnorm=global_clipnorm)",
                                     "keras.optimizers.Adam(learning_rate, clipnorm=global_clipnorm)")]},
            {COMPILE},
        ),
        "dropout_ignored": (
            {"build_classifier": [("        if dropout:\n            x = keras.layers.Dropout(dropout)(x)\n", "")]},
            {BUILD},
        ),
        "no_early_stopping": (
            {"train_classifier": [("callbacks=[stop, *callbacks]", "callbacks=list(callbacks)")]},
            {TRAIN},
        ),
    },
)

globals().update(standard_tests(CH))
