"""Results as rows (grades.csv, result.json) and the reports written from them."""

import csv
from pathlib import Path

import pytest

from autograder.grader import assignment
from autograder.grader.results import COLUMNS, Result, Status, summary_lines, write_grades, write_summary

A = assignment.Assignment("01_x", Path("/nowhere"), ["nb"],
                          [assignment.TestCell("t1", "nb", 1.0), assignment.TestCell("t2", "nb", 2.0)],
                          {"nb": {"t1", "t2"}}, 10)
LIMITS = "root; cgroup memory 4096 MB; rlimit 512 processes, cgroup 1024 processes"


def _result(student: str = "ada", **kw: object) -> Result:
    fields = dict(student=student, submitted_as=f"{student} L.", status=Status.GRADED, scores={"t1": 1.0, "t2": 2.0},
                  reasons=[], flags=[], sandboxed=True, sandbox=LIMITS, seconds=3.4)
    return Result(**{**fields, **kw})


def test_to_row_writes_every_column():
    row = _result(scores={"t2": 0.5}, reasons=["cell 't1' was stopped after 10 s", "note two"], flags=None).to_row(A)
    assert row == {"student": "ada", "submitted_as": "ada L.", "platform_id": "", "assignment": "01_x", "score": 0.5,
                   "max_score": 3.0,
                   "status": "graded", "reason": "cell 't1' was stopped after 10 s; note two", "flagged": "n/a",
                   "flag_reason": "", "sandbox": f"on ({LIMITS})", "seconds": 3.4, "t1": 0.0, "t2": 0.5}
    assert list(row) == COLUMNS + ["t1", "t2"]


@pytest.mark.parametrize("flags, flagged, reason", [(None, "n/a", ""), ([], "no", ""), (["a", "b"], "yes", "a; b")])
def test_flags(flags, flagged, reason):
    row = _result(flags=flags).to_row(A)
    assert (row["flagged"], row["flag_reason"]) == (flagged, reason)


def test_unsandboxed_says_why():
    row = _result(sandboxed=False, sandbox="turned off (--sandbox off)").to_row(A)
    assert row["sandbox"] == "OFF: turned off (--sandbox off)"


def test_a_test_id_that_is_a_column_name_is_refused():
    clash = assignment.Assignment("01_x", Path("/nowhere"), ["nb"], [assignment.TestCell("score", "nb", 1.0)],
                                  {"nb": {"score"}}, 3)
    with pytest.raises(AssertionError, match="score"):
        _result(scores={"score": 1.0}).to_row(clash)


@pytest.mark.parametrize("result", [
    _result(),
    _result(flags=None, reasons=["notebook x.ipynb graded as nb.ipynb"]),
    _result(flags=["nbgrader gave t1 1/1, but f differs (1 (2))"], sandbox="user; rlimit memory 1024 MB per process"),
    _result(status=Status.UNGRADED, scores={}, reasons=["no nb.ipynb in the submission"], flags=None,
            sandboxed=False, sandbox="the sandbox could not be set up: bwrap: (setting up uid map): Permission denied"),
])
def test_from_row_gives_back_the_result(result):
    row = result.to_row(A)
    back = Result.from_row(row, A)
    assert back.to_row(A) == row
    assert (back.status, back.reasons, back.flags, back.sandboxed, back.sandbox, back.seconds) == \
        (result.status, result.reasons, result.flags, result.sandboxed, result.sandbox, result.seconds)
    assert back.scores == {"t1": result.scores.get("t1", 0.0), "t2": result.scores.get("t2", 0.0)}


def test_grades_csv_has_the_fixed_columns_then_the_tests(tmp_path):
    write_grades(A, [_result("ada"), _result("bob", scores={"t1": 1.0})], tmp_path)
    with open(tmp_path / "grades.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["student", "submitted_as", "platform_id", "assignment", "score", "max_score", "status", "reason",
                                 "flagged", "flag_reason", "sandbox", "seconds", "t1", "t2"]
    assert [(r["student"], r["score"], r["t1"], r["t2"]) for r in rows] == [("ada", "3.0", "1.0", "2.0"),
                                                                            ("bob", "1.0", "1.0", "0.0")]


def test_the_summary_warns_and_lists_the_flagged(tmp_path):
    results = [
        _result("ada"),
        _result("bob", flags=["nbgrader gave t2 2/2, but f differs"], scores={"t1": 1.0, "t2": 2.0}),
        _result("cyd", status=Status.UNGRADED, scores={}, reasons=["no nb.ipynb in the submission"],
                sandboxed=False, sandbox="turned off (--sandbox off)"),
        _result("dee", scores={"t1": 1.0, "t2": 1.0}, sandboxed=False, sandbox="turned off (--sandbox off)"),
    ]
    write_summary(A, results, tmp_path)
    assert (tmp_path / "summary.md").read_text().splitlines() == [
        "# 01_x: 4 submissions, 1 could not be graded",
        "",
        "**WARNING: 2 submission(s) were graded UNSANDBOXED** (OFF: turned off (--sandbox off)): their code could "
        "read and write what the grading user can.",
        "",
        f"Sandbox: 2 submission(s) with {LIMITS}.",
        "",
        "**1 submission(s) flagged by the cross-check** (nbgrader's score and a re-run of the graded functions "
        "outside the grading kernel disagree; look at them before releasing grades):",
        "",
        "- bob: nbgrader gave t2 2/2, but f differs",
        "",
        "| test | points | mean | full marks | pass rate |",
        "|---|---:|---:|---:|---:|",
        "| t1 | 1 | 0.75 | 3 | 75% |",
        "| t2 | 2 | 1.25 | 2 | 50% |",
        "",
        "Total: mean 2.00 of 3, 2 with full marks.",
    ]
    with open(tmp_path / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert summary[1] == {"test": "t2", "notebook": "nb", "points": "2.0", "submissions": "4", "mean_score": "1.25",
                          "full_marks": "2", "pass_rate": "0.5"}


def test_a_clean_summary_says_what_was_checked(tmp_path):
    write_summary(A, [_result("ada"), _result("bob", flags=None)], tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "UNSANDBOXED" not in text and "flagged by the cross-check" not in text
    assert "Cross-check: 1 submission(s) checked, none flagged." in text
    assert f"Sandbox: 2 submission(s) with {LIMITS}." in text


def test_the_summary_counts_each_set_of_limits():
    user = "user; rlimit memory 4096 MB per process; rlimit 512 processes"
    lines = summary_lines(A, [_result("ada"), _result("bob", sandbox=user), _result("cyd", sandbox=user)], [])
    assert [line for line in lines if line.startswith("Sandbox:")] == [
        f"Sandbox: 1 submission(s) with {LIMITS}.", f"Sandbox: 2 submission(s) with {user}."]
