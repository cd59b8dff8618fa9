"""Chapter 1 graded end to end through `python -m autograder grade`, as an instructor would.

Besides the correct, blank and known-wrong submissions of every chapter, chapter 1's class holds
the broken ones: an exception, an infinite loop, a dying kernel, deleted and renamed test cells,
a renamed notebook, invalid JSON and a missing notebook. Each wrong version must lose the points
of the function it breaks and keep all the others; each broken one gets a row and feedback.
"""

import zipfile

import nbformat
import pytest
import submissions as subs
from classes import Chapter, standard_tests
from conftest import run_cli

pytestmark = [pytest.mark.slow]

CH = Chapter(
    assignment="01_rnn_forward",
    notebook="rnn_forward",
    points={
        "test_rnn_step_forward": 3,
        "test_rnn_forward": 2,
        "test_rnn_forward_reference": 1,
        "test_output_forward": 1,
        "test_softmax": 1,
        "test_softmax_stable": 1,
        "test_cross_entropy": 2,
    },
    mutants={
        "sigmoid_not_tanh": (
            {"rnn_step_forward": [("np.tanh(x @ Wxh + h_prev @ Whh + bh)",
                                   "1.0 / (1.0 + np.exp(-(x @ Wxh + h_prev @ Whh + bh)))")]},
            {"test_rnn_step_forward", "test_rnn_forward_reference"},
        ),
        "whh_transposed": (
            {"rnn_step_forward": [("h_prev @ Whh", "h_prev @ Whh.T")]},
            {"test_rnn_step_forward", "test_rnn_forward_reference"},
        ),
        "step_bias_missing": (
            {"rnn_step_forward": [(" + bh)", ")")]},
            {"test_rnn_step_forward", "test_rnn_forward_reference"},
        ),
        "h0_ignored": (
            {"rnn_forward": [("h_prev = h0", "h_prev = np.zeros_like(h0)")]},
            {"test_rnn_forward", "test_rnn_forward_reference"},
        ),
        "output_bias_missing": (
            {"output_forward": [("scores = h @ Why + by", "scores = h @ Why")]},
            {"test_output_forward"},
        ),
        "softmax_no_max_shift": (
            {"softmax": [("shifted = scores - scores.max(axis=-1, keepdims=True)", "shifted = scores")]},
            {"test_softmax_stable"},
        ),
        "softmax_wrong_axis": (
            {"softmax": [("e / e.sum(axis=-1, keepdims=True)", "e / e.sum(axis=0, keepdims=True)")]},
            {"test_softmax", "test_softmax_stable"},
        ),
        "cross_entropy_sum_not_mean": (
            {"cross_entropy": [("loss = -picked.mean()", "loss = -picked.sum()")]},
            {"test_cross_entropy"},
        ),
        # The log of the (stable) softmax: exact for moderate scores, -inf (and a warning) where a
        # probability underflows to 0, at scores of size 1000.
        "cross_entropy_log_of_softmax": (
            {"cross_entropy": [("    shifted = scores - scores.max(axis=-1, keepdims=True)\n"
                                "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))",
                                "    log_probs = np.log(softmax(scores))")]},
            {"test_cross_entropy"},
        ),
        # The usual patch, log(p + 1e-12): no warning, but log p is clamped at about -27.6.
        "cross_entropy_log_of_softmax_plus_epsilon": (
            {"cross_entropy": [("    shifted = scores - scores.max(axis=-1, keepdims=True)\n"
                                "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))",
                                "    log_probs = np.log(softmax(scores) + 1e-12)")]},
            {"test_cross_entropy"},
        ),
        # Fancy indexing with the label array alone picks every label for every prediction.
        "cross_entropy_wrong_label_indexing": (
            {"cross_entropy": [("picked = np.take_along_axis(log_probs, y[..., None], axis=-1)",
                                "picked = log_probs[..., y]")]},
            {"test_cross_entropy"},
        ),
        # Written for 2-D scores: normalises over axis 1, the time axis of 3-D scores.
        "softmax_over_axis_1": (
            {"softmax": [("scores.max(axis=-1, keepdims=True)", "scores.max(axis=1, keepdims=True)"),
                         ("e / e.sum(axis=-1, keepdims=True)", "e / e.sum(axis=1, keepdims=True)")]},
            {"test_softmax", "test_softmax_stable"},
        ),
        # One shift for the whole array: rows far below the overall maximum underflow to 0 / 0.
        "softmax_global_max_shift": (
            {"softmax": [("scores - scores.max(axis=-1, keepdims=True)", "scores - scores.max()")]},
            {"test_softmax_stable"},
        ),
        "state_not_carried": (
            {"rnn_forward": [("rnn_step_forward(x[:, t, :], h_prev, Wxh", "rnn_step_forward(x[:, t, :], h0, Wxh")]},
            {"test_rnn_forward", "test_rnn_forward_reference"},
        ),
        "stores_the_previous_state": (
            {"rnn_forward": [("        h_prev, step_cache = rnn_step_forward(x[:, t, :], h_prev, Wxh, Whh, bh)\n"
                              "        h[:, t, :] = h_prev",
                              "        h[:, t, :] = h_prev\n"
                              "        h_prev, step_cache = rnn_step_forward(x[:, t, :], h_prev, Wxh, Whh, bh)")]},
            {"test_rnn_forward", "test_rnn_forward_reference"},
        ),
        # Broken in other ways: an exception, and an infinite loop stopped by the per-cell timeout.
        "raises_in_rnn_forward": (
            {"rnn_forward": [("N, T, _ = x.shape", "N, T = x.shape")]},
            {"test_rnn_forward", "test_rnn_forward_reference"},
        ),
        "infinite_loop": (
            {"output_forward": [("scores = h @ Why + by", "while True:\n        pass")]},
            {"test_output_forward"},
        ),
    },
    right={
        # One product of the concatenated inputs with the stacked weights: the same function.
        "step_with_concatenated_weights": {"rnn_step_forward": [
            ("h_next = np.tanh(x @ Wxh + h_prev @ Whh + bh)",
             "h_next = np.tanh(np.concatenate([x, h_prev], axis=1) @ np.vstack([Wxh, Whh]) + bh)")]},
        # States collected in a list and stacked along the time axis.
        "forward_stacks_a_list": {"rnn_forward": [
            ("    N, T, _ = x.shape\n    h = np.zeros((N, T, h0.shape[1]))\n", "    states = []\n    T = x.shape[1]\n"),
            ("        h[:, t, :] = h_prev\n", "        states.append(h_prev)\n"),
            ("        cache.append(step_cache)\n", "        cache.append(step_cache)\n    h = np.stack(states, axis=1)\n")]},
        # Reductions without keepdims, broadcast back with [..., None].
        "softmax_with_newaxis": {"softmax": [
            ("shifted = scores - scores.max(axis=-1, keepdims=True)", "shifted = scores - np.max(scores, axis=-1)[..., None]"),
            ("probs = e / e.sum(axis=-1, keepdims=True)", "probs = e / np.sum(e, axis=-1)[..., None]")]},
        # numpy's log-sum-exp and integer-array indexing of the correct scores.
        "cross_entropy_logaddexp": {"cross_entropy": [
            ("    shifted = scores - scores.max(axis=-1, keepdims=True)\n"
             "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))\n"
             "    picked = np.take_along_axis(log_probs, y[..., None], axis=-1)\n"
             "    loss = -picked.mean()",
             "    N, T, _ = scores.shape\n"
             "    correct = scores[np.arange(N)[:, None], np.arange(T)[None, :], y]\n"
             "    loss = float(np.mean(np.logaddexp.reduce(scores, axis=-1) - correct))")]},
    },
)
ALL = set(CH.points)
CH.extra = {
    "infinite_loop": (CH.scores({"test_output_forward"}), "graded",
                      [f"cell 'test_output_forward' was stopped after {CH.timeout} s"]),
    "deleted_test_cell": (CH.scores(), "graded", ["cell 'test_softmax' was missing and was restored"]),
    "renamed_test_cell": (CH.scores(), "graded", ["unknown grade id 'my_ce_test'",
                                                  "cell 'test_cross_entropy' was missing and was restored"]),
    "renamed_notebook": (CH.scores(), "graded", ["rnn_forward (1).ipynb graded as rnn_forward.ipynb"]),
    # os._exit in the softmax cell: that cell is skipped on a second attempt, everything else is graded.
    "kernel_dies": (CH.scores({"test_softmax", "test_softmax_stable"}), "graded",
                    ["('softmax') was not graded: the Python kernel died", "graded again without it"]),
    "invalid_json": (CH.scores(ALL), "ungraded", ["not a valid notebook"]),
    "no_notebook": (CH.scores(ALL), "ungraded", ["no rnn_forward.ipynb"]),
}


def build_class(folder):
    CH.write_standard_class(folder)
    nb_name = f"{CH.notebook}.ipynb"
    correct = subs.correct_submission(CH.assignment, CH.notebook)
    subs.write(subs.drop_cell(correct, "test_softmax"), folder / "deleted_test_cell" / nb_name)
    subs.write(subs.rename_cell(correct, "test_cross_entropy", "my_ce_test"), folder / "renamed_test_cell" / nb_name)
    subs.write(correct, folder / "renamed_notebook" / "rnn_forward (1).ipynb")
    dies = subs.correct_submission(CH.assignment, CH.notebook,
                                   {"softmax": [("def softmax(", "import os\nos._exit(1)\ndef softmax(")]})
    subs.write(dies, folder / "kernel_dies" / nb_name)
    subs.raw(subs.truncated_json(correct), folder / "invalid_json" / nb_name)
    (folder / "no_notebook").mkdir()
    (folder / "no_notebook" / "answers.txt").write_text("I forgot the notebook\n")


globals().update(standard_tests(CH, build=build_class))


def test_zip_from_an_lms(tmp_path):
    """A zip wrapping student folders in one top folder, with macOS debris, is graded too."""
    correct = subs.correct_submission(CH.assignment, CH.notebook)
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Assignment 1 download/ada lovelace/rnn_forward.ipynb", nbformat.writes(correct))
        zf.writestr("Assignment 1 download/bob/rnn_forward.ipynb", "not json")
        zf.writestr("__MACOSX/Assignment 1 download/._bob", "junk")
    rows, _ = CH.grade(z, tmp_path / "out")
    assert set(rows) == {"ada_lovelace", "bob"}
    assert rows["ada_lovelace"]["submitted_as"] == "ada lovelace"
    assert float(rows["ada_lovelace"]["score"]) == CH.max_score
    assert rows["bob"]["status"] == "ungraded" and float(rows["bob"]["score"]) == 0.0
    assert (tmp_path / "out" / "feedback" / "bob" / f"{CH.notebook}.html").is_file()


def test_unsafe_zip_is_refused(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../escaped/rnn_forward.ipynb", "{}")
    proc = run_cli("grade", CH.assignment, z, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "unsafe member" in proc.stderr
    assert not (tmp_path / "escaped").exists()


def test_grader_errors_exit_non_zero(tmp_path):
    proc = run_cli("grade", "no_such_assignment", tmp_path)
    assert proc.returncode == 2
    assert "no assignment 'no_such_assignment'" in proc.stderr and "01_rnn_forward" in proc.stderr
    proc = run_cli("grade", CH.assignment, tmp_path / "missing")
    assert proc.returncode == 2 and "submissions not found" in proc.stderr
