"""Cross-check: re-run a submission's graded functions away from nbgrader and compare with the solution's.

nbgrader runs student code in the kernel that runs the tests, so a submission can cheat the
tests from inside (patch numpy or the checking harness, empty later cells with an IPython input
transformer, read the expected value from a test's frame, return objects that compare equal
to anything, do any of it only when ``NBGRADER_EXECUTION`` is set). The cross-check does not
trust that kernel:

1. the grader draws fresh inputs for every submission (:func:`seed_for`: from the submission and
   a per-run nonce) and writes them to an ``.npz`` file (:mod:`.npz`);
2. the submission's code cells run in a fresh, sandboxed, plain Python interpreter
   (:mod:`.child`), which calls each graded function on those inputs and writes what it returned
   as float64 arrays to another ``.npz``, read with ``allow_pickle=False``: only numbers come back;
3. meanwhile the instructor's solution runs on its own copy of the same inputs, in a plain process
   of its own that never sees student code, and the grader compares (:mod:`.engine`, :mod:`.compare`).

Chapters 1-4 (numpy) and 5 (Keras cells) have checks (:mod:`.spec` lists them, ``chNN.py`` holds
them). A check calls one graded function, or a short program around it (a backward pass on its
own forward pass's cache, a Keras cell with weights the check sets), and everything it returns is
compared with the solution's. Inputs are drawn as the chapter's hidden tests draw theirs, so that
honest code those tests accept is accepted here too. A check covers the test cells whose points
depend on that function (``Check.tests``); where nbgrader awarded points on a test cell whose
check failed, the submission is flagged, with the reason. This package holds the inputs and the
wiring, never a solution: the solution comes from ``solutions/`` at grading time.

The names below load on first use: the child (``python -I -m autograder.crosscheck``, twice per
submission) imports only what it runs, not the engine and the sandbox that start it.
"""

from .. import lazy_attributes

_LAZY = {"run": "engine", "seed_for": "engine", "available": "spec"}

__all__ = sorted(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY)
