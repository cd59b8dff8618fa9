"""Helpers for training Keras models in the course: timing, the device, saved results.

Nothing here builds or trains a model for you (that is the exercise); these are the
instruments around it.
"""

import json
import os
import platform
import time
from pathlib import Path

RESULTS_ENV = "RNN_COURSE_RESULTS"


def device_description():
    """The device TensorFlow computes on, in words: the GPU's name, or the CPU's model and cores."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return "GPU: " + ", ".join(names)
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {model}, {cores} core(s)"


def epoch_timer():
    """A Keras callback that records the wall-clock seconds of every epoch in ``callback.seconds``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []
            self._start = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def results_dir():
    """Where results files go: ``$RNN_COURSE_RESULTS`` when set, else the working directory."""
    return Path(os.environ.get(RESULTS_ENV) or ".")


def save_results(name, results):
    """Write ``results`` (JSON-serialisable) to ``<results_dir>/<name>.json``; return the path."""
    path = results_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True))
    return path


def load_results(path):
    """Read a results file written by ``save_results``, saying how to produce it when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. It is written by the reference training run of chapter 6: "
            "run `make book` in the course checkout (it runs `python -m autograder reference` first).")
    return json.loads(path.read_text())
