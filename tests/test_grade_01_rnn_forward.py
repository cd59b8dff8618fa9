"""Chapter 1 graded end to end through `python -m autograder grade`, as an instructor would.

A fixture class of correct, known-wrong and broken submissions is built from the instructor
notebook; the exact score of every test cell is asserted for every student. Each known-wrong
version must lose the points of the function it breaks and keep all the others.
"""

import csv
import html
import re
import zipfile

import nbformat
import pytest

import submissions as subs
from conftest import run_cli

ASSIGNMENT, NOTEBOOK = "01_rnn_forward", "rnn_forward"
POINTS = {  # grade id -> points, as in the instructor notebook (checked below)
    "test_rnn_step_forward": 3,
    "test_rnn_forward": 2,
    "test_rnn_forward_reference": 1,
    "test_output_forward": 1,
    "test_softmax": 1,
    "test_softmax_stable": 1,
    "test_cross_entropy": 2,
}
TIMEOUT = 10  # seconds per cell while grading the fixture class

# Known-wrong versions: {student: (edits to the instructor's code, test cells that must score 0)}.
MUTANTS = {
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
    # Broken in other ways: an exception, and an infinite loop stopped by the per-cell timeout.
    "raises_in_rnn_forward": (
        {"rnn_forward": [("N, T, _ = x.shape", "N, T = x.shape")]},
        {"test_rnn_forward", "test_rnn_forward_reference"},
    ),
    "infinite_loop": (
        {"output_forward": [("scores = h @ Why + by", "while True:\n        pass")]},
        {"test_output_forward"},
    ),
}

ALL = set(POINTS)
MAX = sum(POINTS.values())


def _expected(lost):
    return {gid: (0.0 if gid in lost else float(p)) for gid, p in POINTS.items()}


# student -> (expected per-test scores, expected status, words the reason must contain)
EXPECTED = {
    "instructor": (_expected(set()), "graded", []),
    "correct": (_expected(set()), "graded", []),
    "blank_student_copy": (_expected(ALL), "graded", []),
    **{name: (_expected(lost), "graded", []) for name, (_, lost) in MUTANTS.items()},
    "deleted_test_cell": (_expected(set()), "graded", ["'test_softmax' was missing and was restored"]),
    "renamed_test_cell": (_expected(set()), "graded", ["unknown grade id 'my_ce_test'",
                                                       "'test_cross_entropy' was missing and was restored"]),
    "renamed_notebook": (_expected(set()), "graded", ["rnn_forward (1).ipynb graded as rnn_forward.ipynb"]),
    "kernel_dies": (_expected(ALL), "ungraded", ["kernel died"]),
    "invalid_json": (_expected(ALL), "ungraded", ["not a valid notebook"]),
    "no_notebook": (_expected(ALL), "ungraded", ["no rnn_forward.ipynb"]),
}
EXPECTED["infinite_loop"][2].append(f"'test_output_forward' was stopped after {TIMEOUT} s")


def build_class(folder):
    root = subs.ROOT
    nb_name = f"{NOTEBOOK}.ipynb"
    correct = subs.correct_submission(ASSIGNMENT, NOTEBOOK)
    subs.raw((root / "solutions" / ASSIGNMENT / nb_name).read_text(), folder / "instructor" / nb_name)
    subs.write(correct, folder / "correct" / nb_name)
    subs.raw((root / "exercises" / ASSIGNMENT / nb_name).read_text(), folder / "blank_student_copy" / nb_name)
    for name, (edits, _) in MUTANTS.items():
        subs.write(subs.correct_submission(ASSIGNMENT, NOTEBOOK, edits), folder / name / nb_name)
    subs.write(subs.drop_cell(correct, "test_softmax"), folder / "deleted_test_cell" / nb_name)
    subs.write(subs.rename_cell(correct, "test_cross_entropy", "my_ce_test"), folder / "renamed_test_cell" / nb_name)
    subs.write(correct, folder / "renamed_notebook" / "rnn_forward (1).ipynb")
    dies = subs.correct_submission(ASSIGNMENT, NOTEBOOK, {"softmax": [("def softmax(", "import os\nos._exit(1)\ndef softmax(")]})
    subs.write(dies, folder / "kernel_dies" / nb_name)
    subs.raw(subs.truncated_json(correct), folder / "invalid_json" / nb_name)
    (folder / "no_notebook").mkdir()
    (folder / "no_notebook" / "answers.txt").write_text("I forgot the notebook\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class01")
    build_class(tmp / "class")
    proc = run_cli("grade", ASSIGNMENT, tmp / "class", "--out", tmp / "out", "--timeout", TIMEOUT)
    assert proc.returncode == 0, f"grader failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    with open(tmp / "out" / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return tmp / "out", rows, proc.stdout


def test_points_match_instructor_notebook():
    nb = subs.load(ASSIGNMENT, NOTEBOOK, "solutions")
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert points == POINTS


def test_every_submission_has_exactly_one_row(graded):
    _, rows, _ = graded
    assert set(rows) == set(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_exact_scores(graded, student):
    _, rows, _ = graded
    scores, status, reason_words = EXPECTED[student]
    row = rows[student]
    got = {gid: float(row[gid]) for gid in POINTS}
    assert got == scores, f"{student}: reason={row['reason']!r}"
    assert float(row["score"]) == sum(scores.values())
    assert float(row["max_score"]) == MAX
    assert row["status"] == status, row["reason"]
    for words in reason_words:
        assert words in row["reason"], row["reason"]
    if status == "graded" and not reason_words:
        assert row["reason"] == ""


def test_every_mutant_loses_points():
    for name, (_, lost) in MUTANTS.items():
        assert lost, f"mutant {name} is expected to lose nothing: it tests nothing"


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_feedback_without_hidden_tests(graded, student):
    out, rows, _ = graded
    text = html.unescape((out / "feedback" / student / f"{NOTEBOOK}.html").read_text())
    secret = subs.secret_lines()
    assert len(secret) > 50
    for line in secret:
        assert line not in text, f"feedback of {student} shows hidden or solution line {line!r}"
    assert "HIDDEN TESTS" not in text
    total = re.search(r"Score:(?:</strong>)?\s*([0-9.]+) / ([0-9.]+)", text)
    assert total and (float(total[1]), float(total[2])) == (float(rows[student]["score"]), MAX)


def test_summary(graded):
    out, rows, stdout = graded
    with open(out / "summary.csv") as f:
        summary = {r["test"]: r for r in csv.DictReader(f)}
    assert set(summary) == ALL
    for gid, points in POINTS.items():
        full = sum(1 for r in rows.values() if float(r[gid]) >= points)
        assert int(summary[gid]["full_marks"]) == full
        assert float(summary[gid]["pass_rate"]) == round(full / len(rows), 3)
    assert "pass rate" in (out / "summary.md").read_text()
    assert f"graded {len(EXPECTED)} submission(s)" in stdout


def test_zip_from_an_lms(tmp_path):
    """A zip wrapping student folders in one top folder, with macOS debris, is graded too."""
    correct = subs.correct_submission(ASSIGNMENT, NOTEBOOK)
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Assignment 1 download/ada lovelace/rnn_forward.ipynb", nbformat.writes(correct))
        zf.writestr("Assignment 1 download/bob/rnn_forward.ipynb", "not json")
        zf.writestr("__MACOSX/Assignment 1 download/._bob", "junk")
    proc = run_cli("grade", ASSIGNMENT, z, "--out", tmp_path / "out", "--timeout", TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "out" / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"ada_lovelace", "bob"}
    assert rows["ada_lovelace"]["submitted_as"] == "ada lovelace"
    assert float(rows["ada_lovelace"]["score"]) == MAX
    assert rows["bob"]["status"] == "ungraded" and float(rows["bob"]["score"]) == 0.0
    assert (tmp_path / "out" / "feedback" / "bob" / f"{NOTEBOOK}.html").is_file()


def test_grader_errors_exit_non_zero(tmp_path):
    proc = run_cli("grade", "no_such_assignment", tmp_path)
    assert proc.returncode == 2
    assert "no assignment 'no_such_assignment'" in proc.stderr and "01_rnn_forward" in proc.stderr
    proc = run_cli("grade", ASSIGNMENT, tmp_path / "missing")
    assert proc.returncode == 2 and "submissions not found" in proc.stderr
