"""Notebooks whose nbgrader cell metadata was lost, graded end to end through `python -m autograder grade`.

A student who pastes their work into a fresh notebook, or whose editor drops cell metadata, is
graded by matching their cells to the assignment's answer cells by the names those define
(:mod:`autograder.grader.matching`): correct code gets every point, wrong code loses exactly what
the same mistake loses with its metadata intact, and the row says what was done.
"""

import csv

import pytest
import submissions as subs
from conftest import run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_grade_01_rnn_forward import CH as CH1
from test_grade_03_gradient_check import CH as CH3

pytestmark = [pytest.mark.slow]

NB3 = f"{CH3.notebook}.ipynb"
# test_grade_03's known-wrong one-sided difference, with the test cells it must lose there.
WRONG_EDITS, WRONG_LOST = CH3.mutants["one_sided_difference"]


def answers(nb):
    """grade id -> the code of each answer cell of a (full-metadata) submission."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def fresh_notebook(nb):
    """The answers of chapter 3 pasted into a new notebook, as a student starting over would: their own
    imports, two answers in one cell, a scratch cell, the last answer at the end; no setup, no tests."""
    code = answers(nb)
    return new_notebook(cells=[
        new_markdown_cell("# Gradient checking (my copy)"),
        new_code_cell("import numpy as np"),
        new_code_cell(code["numerical_gradient"] + "\n\n\n" + code["relative_error"]),
        new_code_cell("print(relative_error(np.array([1.0]), np.array([3.0])))"),
        new_code_cell(code["gradient_check"]),
    ])


def grade(folder, out, assignment):
    proc = run_cli("grade", assignment, folder, "--out", out, "--workers", 2, "--timeout", 30)
    assert proc.returncode == 0, f"grader failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    with open(out / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded3(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lost_metadata")
    correct = subs.correct_submission(CH3.assignment, CH3.notebook)
    wrong = subs.correct_submission(CH3.assignment, CH3.notebook, WRONG_EDITS)
    subs.write(subs.without_metadata(correct), tmp / "class" / "stripped" / NB3)
    subs.write(fresh_notebook(correct), tmp / "class" / "fresh" / NB3)
    subs.write(fresh_notebook(wrong), tmp / "class" / "fresh_wrong" / NB3)
    subs.write(subs.drop_cell(correct, "relative_error"), tmp / "class" / "lost_answer_cell" / NB3)
    subs.write(subs.without_metadata(subs.load(CH3.assignment, CH3.notebook, "exercises")),
               tmp / "class" / "stripped_blank" / NB3)
    return tmp / "out", grade(tmp / "class", tmp / "out", CH3.assignment)


def scores(row, ch):
    return {gid: float(row[gid]) for gid in ch.points}


MATCHED3 = ("nbgrader metadata was missing: 3 answer cells matched by the names they define "
            "(numerical_gradient, relative_error, gradient_check)")


@pytest.mark.parametrize("student,note", [("stripped", MATCHED3),
                                          ("fresh", MATCHED3 + ", 3 other cells of the notebook kept")])
def test_correct_code_without_metadata_gets_every_point(graded3, student, note):
    out, rows = graded3
    row = rows[student]
    assert scores(row, CH3) == CH3.scores(), row["reason"]
    assert row["status"] == "graded" and row["reason"] == note
    assert row["flagged"] == "no", row["flag_reason"]  # the cross-check ran on the rebuilt notebook and agrees
    assert (out / "feedback" / student / f"{CH3.notebook}.html").is_file()


def test_wrong_code_without_metadata_loses_what_it_loses_with_metadata(graded3):
    row = graded3[1]["fresh_wrong"]
    assert scores(row, CH3) == CH3.scores(WRONG_LOST), row["reason"]
    assert row["reason"] == MATCHED3 + ", 3 other cells of the notebook kept"
    assert row["flagged"] == "no", row["flag_reason"]  # honest, if wrong


def test_a_deleted_answer_cell_is_graded_as_before(graded3):
    """Metadata intact, one answer cell deleted and defined nowhere: no rebuild, the note nbgrader's restore gives."""
    row = graded3[1]["lost_answer_cell"]
    assert scores(row, CH3) == CH3.scores({"test_relative_error"})
    assert row["reason"] == "cell 'relative_error' was missing and was restored from the assignment"


def test_a_blank_copy_without_metadata_is_graded_not_failed(graded3):
    """Every grade id gone and nothing answered: graded at zero with the reason (nbgrader alone fails on it)."""
    row = graded3[1]["stripped_blank"]
    assert row["status"] == "graded" and scores(row, CH3) == CH3.scores(set(CH3.points))
    assert row["reason"] == ("nbgrader metadata was missing and no cell of the notebook defines numerical_gradient, "
                             "relative_error, gradient_check: graded as not answered")
    assert row["flagged"] != "yes", row["flag_reason"]


def test_every_answer_of_chapter_1_in_one_fresh_cell(tmp_path):
    """Five answers pasted into one cell of a fresh notebook: it goes into the first answer cell, and
    each test cell still runs after the code it tests."""
    code = answers(subs.correct_submission(CH1.assignment, CH1.notebook))
    fresh = new_notebook(cells=[new_code_cell("import numpy as np\n\n" + "\n\n\n".join(code.values()))])
    subs.write(fresh, tmp_path / "class" / "one_cell" / f"{CH1.notebook}.ipynb")
    row = grade(tmp_path / "class", tmp_path / "out", CH1.assignment)["one_cell"]
    assert scores(row, CH1) == CH1.scores(), row["reason"]
    assert row["reason"] == ("nbgrader metadata was missing: 5 answer cells matched by the names they define "
                             "(rnn_step_forward, rnn_forward, output_forward, softmax, cross_entropy)")
    assert row["flagged"] == "no", row["flag_reason"]
