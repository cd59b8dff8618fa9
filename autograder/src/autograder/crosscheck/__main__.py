"""``python -I -m autograder.crosscheck ASSIGNMENT CELLS INPUTS RESULTS`` (or ``--serve ASSIGNMENT``):
the child (:mod:`.child`)."""

import os

from .child import main

if __name__ == "__main__":
    # os._exit: the results are written; leave without running what the cells left behind (atexit
    # handlers, threads that are not daemons, TensorFlow's teardown), which could hang or crash.
    os._exit(main())
