"""Benchmark: the course's LSTM cell against Keras' built-in LSTM layer on MNIST rows.

Trains the chapter-6 classifier (128 units, one layer, Dense(10) on the last state, Adam, batch
128, no augmentation, no validation) with each of the two LSTMs, with and without XLA
(`jit_compile`), on the same machine in one run, the configurations taking turns epoch by epoch,
and prints seconds per epoch (the median of the epochs after the first, which includes tracing
and compilation), the first epoch, the test accuracy reached, the ratio course / built-in, and
the device. The course's cell is read from the chapter-6 instructor
notebook (solutions/06_mnist_classifier), so the benchmark measures exactly the code the book's
reference run trains.

    .venv/bin/python benchmarks/lstm_cell_speed.py [--epochs 3] [--subset N] [--configs ...]

The goal (issue 4): the course's cell within 1.2x of the built-in layer per epoch on a CPU.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "06_mnist_classifier" / "mnist_classifier.ipynb"
CONFIGS = ["builtin-jit", "course-jit", "builtin", "course"]


def course_lstm_cell(namespace):
    """Define the course's LSTMCell from the instructor notebook's `lstm_cell` cell in ``namespace``."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "lstm_cell"]
    if len(cells) != 1:
        sys.exit(f"{NOTEBOOK} has no cell with grade id 'lstm_cell'")
    source = "\n".join(line for line in cells[0].source.splitlines() if not line.lstrip().startswith("### "))
    exec(compile(source, f"{NOTEBOOK.name}:lstm_cell", "exec"), namespace)
    return namespace["LSTMCell"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per configuration (at least 2; default 3)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N training images only")
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch includes compilation")

    import keras
    import tensorflow as tf

    from autograder.data import mnist_batches, mnist_split
    from autograder.training import device_description, epoch_timer

    namespace = {"np": np, "tf": tf, "keras": keras}
    LSTMCell = course_lstm_cell(namespace)
    (x_train, y_train), _, (x_test, y_test) = mnist_split()
    if args.subset:
        x_train, y_train = x_train[:args.subset], y_train[:args.subset]
    device = device_description()
    print(f"device: {device}; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"{len(x_train)} training images, batch 128, {args.epochs} epochs per configuration\n", flush=True)

    # Build every configuration first, then train them in turns, one epoch each per round, so that
    # a machine whose speed drifts (a shared host, thermal limits) slows all of them alike.
    models, seconds = {}, {}
    for config in args.configs:
        kind, jit = config.split("-")[0], config.endswith("-jit")
        keras.utils.set_random_seed(0)
        layer = keras.layers.LSTM(128) if kind == "builtin" else keras.layers.RNN(LSTMCell(128))
        model = keras.Sequential([keras.Input((28, 28)), layer, keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(2e-3, global_clipnorm=1.0),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      jit_compile=jit)
        models[config], seconds[config] = model, []
    data = mnist_batches(x_train, y_train, 128, seed=0)
    for epoch in range(args.epochs):
        for config, model in models.items():
            timer = epoch_timer()
            model.fit(data, epochs=epoch + 1, initial_epoch=epoch, callbacks=[timer], verbose=0)
            seconds[config] += timer.seconds
        print(f"round {epoch + 1}: " + ", ".join(f"{c} {seconds[c][-1]:.1f} s" for c in models), flush=True)
    print()
    results = {}
    for config, model in models.items():
        accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0, return_dict=True)["accuracy"]
        results[config] = (float(np.median(seconds[config][1:])), seconds[config][0], accuracy)
        print(f"{config:<12} {results[config][0]:6.2f} s/epoch  (first epoch, with compilation, "
              f"{results[config][1]:5.1f} s)  test accuracy {accuracy:.2%}", flush=True)

    print()
    for suffix, label in (("-jit", "with jit_compile"), ("", "without jit_compile")):
        course, builtin = results.get("course" + suffix), results.get("builtin" + suffix)
        if course and builtin:
            ratio = course[0] / builtin[0]
            print(f"ratio course / built-in, {label}: {ratio:.2f}x")
    if "course-jit" in results and "builtin" in results:
        best_builtin = min(v[0] for k, v in results.items() if k.startswith("builtin"))
        ratio = results["course-jit"][0] / best_builtin
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(f"course cell with jit / fastest built-in configuration: {ratio:.2f}x (goal <= 1.2x: {verdict})")
    print(f"device: {device}")


if __name__ == "__main__":
    main()
