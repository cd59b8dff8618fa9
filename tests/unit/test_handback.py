"""Hand-back: Canvas' gradebook export and Moodle's grading worksheet filled, checked column by column.

The exports below are small copies of what the platforms write, built from their own code:
- Canvas: instructure/canvas-lms ``lib/gradebook_exporter.rb`` (header ``Student, ID, SIS User ID,
  SIS Login ID, Section``, assignments ``Title (id)``, the totals; the ``Manual Posting`` row; the
  ``    Points Possible`` row with ``(read only)`` under totals; numbers with two decimals;
  ``EX`` excused, ``N/A`` not assigned), read back by ``app/models/gradebook_importer.rb``.
- Moodle: moodle/moodle ``mod/assign/gradingtable.php`` (download columns, ``Participant N`` from
  ``col_recordid``, grades by ``format_float`` with the grade item's decimals) and the column names of
  ``mod/assign/lang/en/assign.php``, read back by ``mod/assign/feedback/offline/importgradeslib.php``.
"""

import csv
import io
from pathlib import Path

import pytest

from autograder import cli
from autograder.errors import GraderError
from autograder.grader import assignment, handback
from autograder.grader.handback.canvas import CanvasGradebook
from autograder.grader.handback.moodle import MoodleWorksheet
from autograder.grader.handback.table import format_number, parse_number, read_table
from autograder.grader.results import Result, Status

pytestmark: list = []  # unit tests: no kernel, no marker

A = assignment.Assignment("03_gradient_check", Path("/nowhere"), ["gradient_check"],
                          [assignment.TestCell("t1", "gradient_check", 4.0),
                           assignment.TestCell("t2", "gradient_check", 6.0)],
                          {"gradient_check": {"t1", "t2"}}, 10)  # 10 points

TOTALS = ["Current Points", "Final Points", "Current Score", "Unposted Current Score", "Final Score",
          "Unposted Final Score"]
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (101)",
                 "Gradient check (202)", "RNN forward (203)", *TOTALS]
CANVAS_ROWS = [
    CANVAS_HEADER,
    ["", "", "", "", "", "", "Manual Posting", "", *[""] * 6],  # gradient check is posted manually
    ["    Points Possible", "", "", "", "", "5.00", "10.00", "8.00", *["(read only)"] * 6],
    ["Lovelace, Ada", "1001", "S1001", "ada", "Section A", "4.00", "", "7.00", "11.00", "11.00", "50.00", "50.00",
     "47.83", "47.83"],
    ["Babbage, Charles", "1002", "S1002", "charles", "Section A", "5.00", "3.00", "", "8.00", "8.00", "53.33",
     "53.33", "34.78", "34.78"],  # already has a grade in Canvas for gradient check
    ["Hopper, Grace", "1003", "S1003", "grace", "Section B", "", "EX", "", "", "", "", "", "", ""],  # excused
    ["Turing, Alan", "1004", "S1004", "alan", "Section B", "", "", "", "", "", "", "", "", ""],
    ["Noether, Emmy", "1005", "S1005", "emmy", "Section B", "", "N/A", "", "", "", "", "", "", ""],  # not assigned
    ["Student, Test", "1099", "", "", "Section A", "", "", "", "", "", "", "", "", ""],  # Canvas' test student
]
COL = CANVAS_HEADER.index("Gradient check (202)")


def _result(student: str, platform_id: str, t1: float = 4.0, t2: float = 6.0, **kw: object) -> Result:
    fields = dict(student=student, submitted_as=student, status=Status.GRADED, scores={"t1": t1, "t2": t2},
                  reasons=[], flags=[], sandboxed=True, sandbox="user", platform_id=platform_id)
    return Result(**{**fields, **kw})


RESULTS = [
    _result("ada", "1001", 4.0, 3.5),  # 7.5
    _result("alan", "1004", 0.0, 0.0, status=Status.UNGRADED, scores={}, reasons=["no gradient_check.ipynb"]),
    _result("emmy", "1005"),
    _result("zoe", "2001"),  # submitted, but not in the export
]


def _write(path: Path, rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> Path:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode())
    return path


def _read(path: Path, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""), delimiter=delimiter))


def _only_column_changed(before: list[list[str]], after: list[list[str]], col: int) -> None:
    assert len(after) == len(before)
    for b, a in zip(before, after):
        assert a[:col] + a[col + 1:] == b[:col] + b[col + 1:]


# --- Canvas ---------------------------------------------------------------------------------------------


def test_canvas_fills_the_assignment_column_and_nothing_else(tmp_path):
    src = _write(tmp_path / "export.csv", CANVAS_ROWS)
    original = src.read_bytes()
    report = CanvasGradebook.read(src).fill(A, RESULTS, tmp_path / "out.csv")
    rows = _read(tmp_path / "out.csv")
    _only_column_changed(CANVAS_ROWS, rows, COL)
    assert rows[0] == CANVAS_HEADER and rows[1] == CANVAS_ROWS[1] and rows[2] == CANVAS_ROWS[2]
    assert [r[COL] for r in rows[3:]] == ["7.5", "3.00", "EX", "0", "N/A", ""]
    assert src.read_bytes() == original  # the instructor's file is untouched
    assert report.column == "Gradient check (202)" and report.zeroed == 0
    assert [r.student for r in report.matching.not_in_export] == ["zoe"]
    text = "\n".join(report.lines())
    assert "zoe (platform id 2001)" in text and "WARNING" in text
    assert "alan (platform id 1004) could not be graded (no gradient_check.ipynb)" in text
    assert "emmy (platform id 1005): Canvas does not assign" in text


def test_canvas_missing_zero_fills_only_empty_cells(tmp_path):
    src = _write(tmp_path / "export.csv", CANVAS_ROWS)
    report = CanvasGradebook.read(src).fill(A, RESULTS[:1], tmp_path / "out.csv", missing_zero=True)
    rows = _read(tmp_path / "out.csv")
    # ada's score; charles' Canvas grade, grace's EX, emmy's N/A kept; alan and the test student 0
    assert [r[COL] for r in rows[3:]] == ["7.5", "3.00", "EX", "0", "N/A", "0"]
    assert report.zeroed == 2
    _only_column_changed(CANVAS_ROWS, rows, COL)


def test_canvas_scales_to_the_columns_points_possible(tmp_path):
    rows = [list(r) for r in CANVAS_ROWS]
    rows[2][COL] = "20.00"
    report = CanvasGradebook.read(_write(tmp_path / "export.csv", rows)).fill(A, RESULTS[:1], tmp_path / "out.csv")
    assert _read(tmp_path / "out.csv")[3][COL] == "15"  # 7.5 of 10 is 15 of 20
    assert any("scaled from 10 to 20" in n for n in report.notes)


def test_canvas_adds_a_column_when_none_is_named_like_the_assignment(tmp_path):
    rows = [r[:COL] + r[COL + 1:] for r in CANVAS_ROWS]  # no gradient check column
    src = _write(tmp_path / "export.csv", rows)
    report = CanvasGradebook.read(src).fill(A, RESULTS[:1], tmp_path / "out.csv")
    out = _read(tmp_path / "out.csv")
    assert [r[:-1] for r in out] == rows
    # a header Canvas does not know is a new assignment, its points from the Points Possible row
    assert [r[-1] for r in out] == ["03_gradient_check", "", "10", "7.5", "", "", "", "", ""]
    assert report.column == "03_gradient_check" and any("new column" in n for n in report.notes)


def test_canvas_without_points_possible_row_gets_one_for_a_new_column(tmp_path):
    rows = [r[:COL] + r[COL + 1:] for i, r in enumerate(CANVAS_ROWS) if i not in (1, 2)]
    CanvasGradebook.read(_write(tmp_path / "export.csv", rows)).fill(A, RESULTS[:1], tmp_path / "out.csv")
    out = _read(tmp_path / "out.csv")
    assert out[1][0] == "    Points Possible" and out[1][-1] == "10"
    assert out[2][0] == "Lovelace, Ada" and out[2][-1] == "7.5"
    assert [r[:-1] for r in out[2:]] == rows[1:]


@pytest.mark.parametrize("wanted", ["Gradient check", "gradient_check", "Gradient check (202)", "202"])
def test_canvas_gradebook_column_chooses(tmp_path, wanted):
    book = CanvasGradebook.read(_write(tmp_path / "export.csv", CANVAS_ROWS))
    assert book.column_for("01_other_name", wanted) == COL


@pytest.mark.parametrize("wanted, message", [
    ("Homework 9", "no such assignment column"),
    ("Current Score", "read-only in Canvas"),
    ("SIS Login ID", "no such assignment column"),
])
def test_canvas_gradebook_column_refuses(tmp_path, wanted, message):
    book = CanvasGradebook.read(_write(tmp_path / "export.csv", CANVAS_ROWS))
    with pytest.raises(GraderError, match=message):
        book.column_for(A.name, wanted)


def test_canvas_names_matched_by_tiers_and_ambiguity_is_an_error(tmp_path):
    book = CanvasGradebook.read(_write(tmp_path / "export.csv", CANVAS_ROWS))
    assert book.column_for("01_rnn_forward") == COL + 1  # "RNN forward (203)": the name without its number
    assert book.column_for("05_lstm") is None
    rows = [r + [v] for r, v in zip(CANVAS_ROWS, ["Gradient check 2 (204)", "", "10.00", *[""] * 6])]
    book = CanvasGradebook.read(_write(tmp_path / "two.csv", rows))
    assert book.column_for(A.name) == COL  # the exact title wins over one that contains it
    rows[0][COL] = "Gradient check 1 (202)"
    with pytest.raises(GraderError, match="2 columns .* named like 03_gradient_check.*--gradebook-column"):
        CanvasGradebook.read(_write(tmp_path / "three.csv", rows)).column_for(A.name)


def test_canvas_semicolons_decimal_commas_and_bom_are_kept(tmp_path):
    rows = [[c.replace("10.00", "10,00").replace("4.00", "4,00") for c in r] for r in CANVAS_ROWS]
    src = _write(tmp_path / "export.csv", rows, delimiter=";", bom=True)
    CanvasGradebook.read(src).fill(A, RESULTS[:1], tmp_path / "out.csv")
    data = (tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    out = _read(tmp_path / "out.csv", delimiter=";")
    assert out[3][COL] == "7,5" and out[2][COL] == "10,00"
    _only_column_changed(rows, out, COL)


@pytest.mark.parametrize("rows, message", [
    ([["Name", "User", "Section", "Quiz (1)"], ["a", "1", "x", "2"]], "header must begin Student, ID"),
    ([["Student", "ID", "SIS Login ID", "Quiz (1)"], ["a", "1", "x", "2"]], "no Section column"),
    ([CANVAS_HEADER, CANVAS_ROWS[2]], "lists no students"),
])
def test_canvas_malformed_exports_are_errors(tmp_path, rows, message):
    with pytest.raises(GraderError, match=message):
        CanvasGradebook.read(_write(tmp_path / "export.csv", rows)).fill(A, RESULTS, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("content, message", [(b"", "is empty"), (b"\n \n", "is empty"),
                                              (b"Student,ID\n\xff\xfe,1\n", "not UTF-8")])
def test_unreadable_files_are_errors(tmp_path, content, message):
    (tmp_path / "export.csv").write_bytes(content)
    with pytest.raises(GraderError, match=message):
        CanvasGradebook.read(tmp_path / "export.csv")
    with pytest.raises(GraderError, match="not found"):
        MoodleWorksheet.read(tmp_path / "missing.csv")


def test_nobody_matched_is_an_error_and_writes_nothing(tmp_path):
    book = CanvasGradebook.read(_write(tmp_path / "export.csv", CANVAS_ROWS))
    plain = [_result("ada", ""), _result("bob", "")]
    with pytest.raises(GraderError, match="none of the 2 submission.*carries a Canvas id.*plain folder"):
        book.fill(A, plain, tmp_path / "out.csv")
    with pytest.raises(GraderError, match=r"none of the 1 submitters' Canvas ids \(2001\) is the Canvas user id"):
        book.fill(A, [_result("zoe", "2001"), _result("bob", "")], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_submissions_without_id_or_sharing_one_are_listed_not_written(tmp_path):
    results = [_result("ada", "1001"), _result("bob", ""), _result("al1", "1004"), _result("al2", "1004", 0.0)]
    report = CanvasGradebook.read(_write(tmp_path / "export.csv", CANVAS_ROWS)).fill(A, results, tmp_path / "o.csv")
    assert [r[COL] for r in _read(tmp_path / "o.csv")[3:]] == ["10", "3.00", "EX", "", "N/A", ""]
    text = "\n".join(report.lines())
    assert "1 submission(s) have no platform id and cannot be matched: bob" in text
    assert "share a platform id, so none of them is written: al1 (platform id 1004), al2" in text


# --- Moodle ---------------------------------------------------------------------------------------------

MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
MOODLE_ROWS = [
    MOODLE_HEADER,
    ["Participant 501", "Ada Lovelace", "ada@example.org", "Submitted for grading", "", "100.00", "Yes",
     "Monday, 3 March 2025, 10:00 AM", "-", ""],
    ["Participant 502", "Charles Babbage", "cb@example.org", "No submission", "40.00", "100.00", "Yes", "-",
     "Tuesday, 4 March 2025, 9:00 AM", "Seen in class"],  # graded in Moodle already
    ["Participant 503", "Grace Hopper", "gh@example.org", "No submission", "", "100.00", "Yes", "-", "-", ""],
    ["Participant 504", "Alan Turing", "at@example.org", "Submitted for grading", "", "100.00", "No",
     "Monday, 3 March 2025, 11:00 AM", "-", "line one\nline two"],  # locked; a comment on two lines
]
GRADE = MOODLE_HEADER.index("Grade")
MOODLE_RESULTS = [_result("ada", "501", 4.0, 3.5), _result("alan", "504"), _result("zoe", "599")]


def test_moodle_fills_the_grade_column_scaled_and_formatted_like_the_worksheet(tmp_path):
    src = _write(tmp_path / "worksheet.csv", MOODLE_ROWS)
    report = MoodleWorksheet.read(src).fill(A, MOODLE_RESULTS, tmp_path / "out.csv")
    rows = _read(tmp_path / "out.csv")
    _only_column_changed(MOODLE_ROWS, rows, GRADE)
    assert rows[0] == MOODLE_HEADER
    assert [r[GRADE] for r in rows[1:]] == ["75.00", "40.00", "", "100.00"]  # 7.5 and 10 of 10, out of 100
    assert report.column == "Grade"
    text = "\n".join(report.lines())
    assert "scaled from 10 to 100" in text and "zoe (platform id 599)" in text
    assert "alan (platform id 504): the grade is locked in Moodle" in text


def test_moodle_missing_zero_and_decimal_comma(tmp_path):
    rows = [[c.replace("100.00", "100,00").replace("40.00", "40,00") for c in r] for r in MOODLE_ROWS]
    src = _write(tmp_path / "worksheet.csv", rows)
    report = MoodleWorksheet.read(src).fill(A, MOODLE_RESULTS[:1], tmp_path / "out.csv", missing_zero=True)
    out = _read(tmp_path / "out.csv")
    assert [r[GRADE] for r in out[1:]] == ["75,00", "40,00", "0,00", "0,00"]
    assert report.zeroed == 2
    _only_column_changed(rows, out, GRADE)


def test_moodle_same_maximum_is_not_scaled(tmp_path):
    rows = [[c.replace("100.00", "10") for c in r] for r in MOODLE_ROWS]
    report = MoodleWorksheet.read(_write(tmp_path / "w.csv", rows)).fill(A, MOODLE_RESULTS[:1], tmp_path / "o.csv")
    assert _read(tmp_path / "o.csv")[1][GRADE] == "7.5"
    assert not any("scaled" in n for n in report.notes)


@pytest.mark.parametrize("drop, message", [
    ("Identifier", "no 'Identifier' column"), ("Grade", "no 'Grade' column"),
    ("Last modified (grade)", "no 'Last modified \\(grade\\)' column"),
])
def test_moodle_worksheet_without_a_column_the_upload_needs(tmp_path, drop, message):
    i = MOODLE_HEADER.index(drop)
    rows = [r[:i] + r[i + 1:] for r in MOODLE_ROWS]
    with pytest.raises(GraderError, match=message + ".*English"):
        MoodleWorksheet.read(_write(tmp_path / "w.csv", rows))


def test_moodle_scale_and_empty_worksheets_are_errors(tmp_path):
    i = MOODLE_HEADER.index("Maximum Grade")
    rows = [r[:i] + ["Scale" if n == 0 else "Good\nBad"] + r[i + 1:] for n, r in enumerate(MOODLE_ROWS)]
    with pytest.raises(GraderError, match="graded on a scale"):
        MoodleWorksheet.read(_write(tmp_path / "w.csv", rows))
    with pytest.raises(GraderError, match="lists no students"):
        MoodleWorksheet.read(_write(tmp_path / "e.csv", [MOODLE_HEADER])).fill(A, MOODLE_RESULTS, tmp_path / "o.csv")


# --- the pieces and the command line --------------------------------------------------------------------


def test_numbers():
    assert [format_number(x) for x in (7.5, 10.0, 0.0, 1 / 3)] == ["7.5", "10", "0", "0.33"]
    assert format_number(7.5, ",", 2) == "7,50"
    assert [parse_number(t) for t in ("10.00", "10,5", " 3 ", "(read only)", "", "1,000.00")] == \
        [10.0, 10.5, 3.0, None, None, None]


def test_read_table_keeps_quoted_newlines(tmp_path):
    table = read_table(_write(tmp_path / "w.csv", MOODLE_ROWS), "worksheet")
    assert table.rows == MOODLE_ROWS and table.delimiter == "," and not table.bom and table.newline == "\n"


def test_check_refuses_before_grading(tmp_path):
    export = _write(tmp_path / "export.csv", CANVAS_ROWS)
    assert handback.check(tmp_path, A.name) is None
    with pytest.raises(GraderError, match="--gradebook-column chooses the column of --canvas-gradebook"):
        handback.check(tmp_path, A.name, column="Quiz 1")
    with pytest.raises(GraderError, match="--missing-zero applies"):
        handback.check(tmp_path, A.name, missing_zero=True)
    with pytest.raises(GraderError, match="never overwritten"):
        handback.check(tmp_path, A.name, canvas=_write(tmp_path / handback.CANVAS_COPY, CANVAS_ROWS))
    with pytest.raises(GraderError, match="no such assignment column"):
        handback.check(tmp_path / "out", A.name, canvas=export, column="Homework 9")
    assert handback.check(tmp_path / "out", A.name, canvas=export).canvas.source == export


def test_cli_reads_the_export_before_grading_and_fills_it_after(tmp_path, monkeypatch, capsys):
    from autograder.grader import run

    def fake_grade(*args, **kw):
        fake_grade.called = True
        return RESULTS

    fake_grade.called = False
    monkeypatch.setattr(run, "grade", fake_grade)
    out, subs = tmp_path / "out", tmp_path / "subs"
    args = ["grade", "03_gradient_check", str(subs), "--out", str(out)]
    assert cli.main([*args, "--canvas-gradebook", str(tmp_path / "missing.csv")]) == 2
    assert not fake_grade.called
    assert "Canvas gradebook export (Grades > Export) not found" in capsys.readouterr().err

    export = _write(tmp_path / "export.csv", CANVAS_ROWS)
    worksheet = _write(tmp_path / "worksheet.csv", MOODLE_ROWS)
    assert cli.main([*args, "--canvas-gradebook", str(export), "--moodle-worksheet", str(worksheet)]) == 2
    assert "none of the 4 submitters' Moodle ids" in capsys.readouterr().err  # RESULTS carry Canvas ids

    assert cli.main([*args, "--canvas-gradebook", str(export), "--missing-zero"]) == 0
    a = assignment.load_assignment("03_gradient_check")  # the real assignment: its points decide the scaling
    rows = _read(out / handback.CANVAS_COPY)
    assert rows[3][COL] == format_number(RESULTS[0].score * 10 / a.max_score)
    assert rows[6][COL] == "0"  # alan: ungraded, score 0
    printed = capsys.readouterr().out
    assert "Canvas gradebook: wrote" in printed and "zoe (platform id 2001)" in printed
    md = (out / handback.REPORT).read_text()
    assert md.startswith("# 03_gradient_check: grades handed back") and "- WARNING: 1 submitter(s)" in md
