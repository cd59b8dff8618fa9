"""Cheating submissions of chapter 1: each one fools nbgrader inside the grading kernel, and the
cross-check (the graded functions re-run in a fresh sandboxed interpreter, compared outside it)
flags it. Honest submissions, right or wrong, are never flagged: the fixture classes of every
chapter assert ``flagged`` is not "yes" (tests/classes.py), and so does the hostile class.
"""

import csv
import os

import nbformat
import pytest

import sandboxes
import submissions as subs
from conftest import ROOT

A, NB = "01_rnn_forward", "rnn_forward"
MAX = 11.0
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

# Wrong answers of the right shapes (all zeros): what a cheat pairs with a way of passing the tests.
ZEROS = {
    "rnn_step_forward": "def rnn_step_forward(x, h_prev, Wxh, Whh, bh):\n"
                        "    return np.zeros((x.shape[0], Wxh.shape[1])), None",
    "rnn_forward": "def rnn_forward(x, h0, Wxh, Whh, bh):\n"
                   "    return np.zeros((x.shape[0], x.shape[1], Wxh.shape[1])), None",
    "output_forward": "def output_forward(h, Why, by):\n    return np.zeros(h.shape[:2] + (Why.shape[1],))",
    "softmax": "def softmax(scores):\n    return np.zeros_like(scores)",
    "cross_entropy": "def cross_entropy(scores, y):\n    return 0.0",
}

# A value that reads the expected value out of the checking harness's frame when it is converted.
FRAME_READER = '''
import sys
class Peek:
    def _expected(self):
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name in ("close", "scalar") and "expected" in frame.f_locals:
                return np.asarray(frame.f_locals["expected"], dtype=float)
            frame = frame.f_back
        return np.zeros(1)
    def __array__(self, dtype=None, copy=None):
        return self._expected()
    def __float__(self):
        return float(self._expected())
def rnn_step_forward(x, h_prev, Wxh, Whh, bh):
    return Peek(), None
'''

CHEATS = {
    # Patching numpy: every |actual - expected| the harness computes becomes 0.
    "numpy_patch": ("np.abs = lambda x, *a, **k: np.zeros(np.shape(x))\n", ZEROS),
    # The same, only while nbgrader grades (the student's own visible tests fail honestly).
    "only_when_grading": ("import os\nif os.environ.get('NBGRADER_EXECUTION'):\n"
                          "    np.abs = lambda x, *a, **k: np.zeros(np.shape(x))\n", ZEROS),
    # IPython: an input transformer that empties every later cell, hidden tests included.
    "input_transformer": ("get_ipython().input_transformers_post.append(lambda lines: [])\n", {}),
    # Builtins: a patched isinstance/len does nothing against the harness, but patching the
    # harness module itself (it is importable) does.
    "harness_patch": ("import autograder.checks as _c\n"
                      "_c.close = lambda *a, **k: None\n_c.scalar = lambda *a, **k: None\n", ZEROS),
}

# Cheats that earn nothing, so there is nothing to flag: the harness, nbgrader or the sandbox
# defeats them. If one of them starts to earn points, its test fails and it belongs above.
DEFEATED = {
    # Reading the expected value from the harness's frame: checks.shape turns a result into a
    # float64 array once (where no expected value is in reach) and later checks use that array.
    "frame_reader": (FRAME_READER, {k: v for k, v in ZEROS.items() if k != "rnn_step_forward"}),
    # IPython: an exception handler that swallows every error. nbgrader still sees the error
    # status of the execute reply and records the error output.
    "swallow_errors": ("get_ipython().set_custom_exc((Exception,), lambda self, etype, value, tb, tb_offset=None: None)\n",
                       {}),
    # Objects that compare equal to anything: the harness compares float64 arrays, not ==.
    "always_equal": ("class Anything:\n    def __eq__(self, other):\n        return True\n"
                     "    __hash__ = object.__hash__\n", {k: v.replace("np.zeros((x.shape[0], Wxh.shape[1]))", "Anything()")
                                                          .replace("np.zeros((x.shape[0], x.shape[1], Wxh.shape[1]))", "Anything()")
                                                          .replace("np.zeros(h.shape[:2] + (Why.shape[1],))", "Anything()")
                                                          .replace("np.zeros_like(scores)", "Anything()")
                                                          .replace("0.0", "Anything()") for k, v in ZEROS.items()}),
    # Reading the instructor's notebook from disk: it is not in the sandbox.
    "read_solution": (f"import json\ntry:\n    _nb = json.load(open({str(ROOT / 'solutions' / A / (NB + '.ipynb'))!r}))\n"
                      "    for _c in _nb['cells']:\n"
                      "        if _c['metadata'].get('nbgrader', {}).get('solution'):\n"
                      "            exec(''.join(_c['source']))\nexcept OSError:\n    pass\n", {}),
}


@pytest.fixture(scope="module", params=sandboxes.MODES)
def graded(request, tmp_path_factory):
    """The class graded in the sandbox, by root and by an ordinary user (tests/sandboxes.py)."""
    mode = request.param
    sandboxes.need(mode)
    tmp = tmp_path_factory.mktemp(f"cheats-{mode}")
    folder, out = tmp / "class", tmp / "out"
    for name, (prelude, functions) in {**CHEATS, **DEFEATED}.items():
        subs.write(subs.cheat_submission(A, NB, prelude, functions), folder / name / f"{NB}.ipynb")
    subs.write(subs.correct_submission(A, NB), folder / "honest" / f"{NB}.ipynb")
    subs.write(subs.correct_submission(A, NB, {"softmax": [("shifted = scores - scores.max(axis=-1, keepdims=True)",
                                                            "shifted = scores")]}), folder / "honest_unstable" / f"{NB}.ipynb")
    if mode == "user" and os.geteuid() == 0:
        sandboxes.give(folder)
        sandboxes.give(out)
    proc = sandboxes.run_cli(mode, "grade", A, folder, "--out", out, "--timeout", 10, "--workers", 2)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        return out, {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_cheat_fools_nbgrader_and_is_flagged(graded, name):
    row = graded[1][name]
    assert float(row["score"]) > 0, f"{name} no longer fools nbgrader: {row}"
    assert row["flagged"] == "yes", row
    assert "outside the grading kernel" in row["flag_reason"]


def test_flag_reasons_name_function_and_tests(graded):
    rows = graded[1]
    assert "test_rnn_step_forward 3/3, but rnn_step_forward, re-run" in rows["numpy_patch"]["flag_reason"]
    assert "test_softmax_stable 1/1, but softmax" in rows["harness_patch"]["flag_reason"]
    assert "NotImplementedError" in rows["input_transformer"]["flag_reason"]


@pytest.mark.parametrize("name", sorted(DEFEATED))
def test_defeated_cheats_earn_nothing(graded, name):
    row = graded[1][name]
    assert float(row["score"]) == 0.0, row
    assert row["flagged"] == "no", row


def test_honest_submissions_are_not_flagged(graded):
    out, rows = graded
    assert rows["honest"]["flagged"] == "no" and float(rows["honest"]["score"]) == MAX
    unstable = rows["honest_unstable"]
    assert float(unstable["test_softmax_stable"]) == 0 and unstable["flagged"] == "no", unstable


def test_summary_lists_the_flagged(graded):
    out, rows = graded
    text = (out / "summary.md").read_text()
    assert f"{len(CHEATS)} submission(s) flagged by the cross-check" in text
    for name in CHEATS:
        assert f"- {name}:" in text
