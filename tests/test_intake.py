"""Every download layout graded end to end through ``python -m autograder grade``, rows asserted.

Each layout's download is built by tests/platforms.py from the same kind of class: a student who
resubmitted (an unreadable first upload, then a correct notebook: full marks prove the newest
was graded), a late upload of a broken notebook with a non-notebook file beside it, and a student
with no notebook (a PDF). Only the correct notebooks start a kernel, so a layout costs one
grading; all layouts share one --out, so the assignment is prepared once. Then: input in which
no student can be found (exit 2 and what was seen), and a symbolic link in a submissions folder.
"""

import csv
import io
import time
import zipfile
from datetime import datetime

import pytest

import platforms as pf
import submissions as subs
from conftest import ROOT, run_cli
from autograder.grader.intake.detect import LAYOUTS

pytestmark = [pytest.mark.slow]

A, NB = "03_gradient_check", "gradient_check"
FILE = f"{NB}.ipynb"
MAX = 7.0  # test_grade_03_gradient_check.CH.max_score
EARLY, LATER = datetime(2026, 10, 2, 14, 0, 5), datetime(2026, 10, 2, 15, 0, 5)
BROKEN = "gradient_check.ipynb is not a valid notebook"
MISSING = "no gradient_check.ipynb in the submission"


def _class(tag: str, number: int) -> list[pf.Person]:
    """Three students whose names carry ``tag`` (the layouts' students stay apart in the shared --out)."""
    return [
        pf.Person("Ada", tag, number + 1, f"ada{tag.lower()}",
                  [pf.Upload({FILE: "{ unfinished"}, EARLY), pf.Upload({FILE: subs.correct_submission(A, NB)}, LATER)]),
        pf.Person("Bob", tag, number + 2, f"bob{tag.lower()}",
                  [pf.Upload({FILE: "{ broken", "notes.txt": "sorry, late"}, LATER, late=True)]),
        pf.Person("Cyd", tag, number + 3, f"cyd{tag.lower()}", [pf.Upload({"answers.pdf": "%PDF-1.4"}, EARLY)]),
    ]


def _grade(download, out, *extra):
    proc = run_cli("grade", A, download, "--out", out, "--workers", 2, "--timeout", 30, *extra)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}, proc.stdout, (out / "summary.md").read_text()


def _check(row, score, status, platform_id, *reason):
    assert (float(row["score"]), row["status"], row["platform_id"]) == (score, status, platform_id), row
    for words in reason:
        assert words in row["reason"], row["reason"]
    if not reason:
        assert row["reason"] == "", row["reason"]


# layout -> (build the download, {student id: (platform id, notes the row must hold)} for ada, bob, cyd)
def _canvas(tmp):
    return pf.canvas(_class("Canvas", 2000), tmp / "canvas"), {
        "canvasada_2001": ("2001", ["gradient_check-1.ipynb graded as gradient_check.ipynb"]),
        "canvasbob_2002": ("2002", ["Canvas marked the submission LATE"]),
        "canvascyd_2003": ("2003", [])}


def _moodle(tmp):
    return pf.moodle(_class("Moodle", 3000), tmp / "moodle"), {
        "Ada_Moodle_3001": ("3001", []), "Bob_Moodle_3002": ("3002", []), "Cyd_Moodle_3003": ("3003", [])}


def _blackboard(tmp):
    return pf.blackboard(_class("Bb", 0), "RNN 3", tmp / "blackboard"), {
        "adabb": ("adabb", ["newest of 2 attempts graded (2026-10-02 15:00:05)"]),
        "bobbb": ("bobbb", []), "cydbb": ("cydbb", [])}


def _gradescope(tmp):
    return pf.gradescope(_class("Gs", 4000), tmp / "gradescope"), {
        "Ada_Gs_4001": ("4001", []), "Bob_Gs_4002": ("4002", []), "Cyd_Gs_4003": ("4003", [])}


def _nbgrader(tmp):
    course = pf.nbgrader(_class("Nb", 0), A, tmp / "course", others={"adanb": {"02_bptt/bptt.ipynb": "{}"}})
    return course / "submitted", {"adanb": ("", []), "bobnb": ("", []), "cydnb": ("", [])}


def _folders(tmp):
    return pf.folders(_class("Dir", 0), tmp / "class"), {
        "adadir": ("", []), "bobdir": ("", []), "cyddir": ("", [])}


LAYOUT_BUILDERS = {"canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard, "gradescope": _gradescope,
                   "nbgrader": _nbgrader, "folders": _folders}


def test_every_layout_through_the_cli(tmp_path):
    out = tmp_path / "out"
    for layout, build in LAYOUT_BUILDERS.items():
        download, expected = build(tmp_path)
        rows, log, summary = _grade(download, out)
        assert set(rows) == set(expected), (layout, sorted(rows))
        assert f"intake: {LAYOUTS[layout]}; 3 student(s), 2 with a notebook" in log, log
        assert f"Layout: {LAYOUTS[layout]}." in summary and "Students found: 3 (2 with a notebook)." in summary
        assert "answers.pdf" in summary and "notes.txt" in summary  # the files skipped, listed
        ada, bob, cyd = sorted(expected)
        _check(rows[ada], MAX, "graded", expected[ada][0], *expected[ada][1])  # the newest upload: the correct one
        _check(rows[bob], 0.0, "ungraded", expected[bob][0], BROKEN, *expected[bob][1])
        _check(rows[cyd], 0.0, "ungraded", expected[cyd][0], MISSING, *expected[cyd][1])
        assert (out / "feedback" / cyd / f"{NB}.html").is_file()  # a page that gives the reason
        if layout == "nbgrader":
            assert "another assignment's folder" in summary


def _csv(path, rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text(text.getvalue())
    return path


def _rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_grades_go_back_to_canvas_and_moodle(tmp_path):
    """A Canvas download graded with the course's gradebook export, a Moodle one with its grading
    worksheet: the platform ids intake read match the export's students, and the copies carry the
    scores (shapes as in tests/unit/test_handback.py, from Canvas' and Moodle's own exporters)."""
    out = tmp_path / "out"
    canvas, _ = _canvas(tmp_path)
    export = _csv(tmp_path / "canvas_export.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Gradient check (202)", "Current Score"],
        ["    Points Possible", "", "", "", "", "7.00", "(read only)"],
        ["Canvas, Ada", "2001", "", "", "A", "", "0.00"],
        ["Canvas, Bob", "2002", "", "", "A", "", "0.00"],
        ["Canvas, Cyd", "2003", "", "", "A", "", "0.00"],
        ["Absent, Dee", "2009", "", "", "A", "", ""],  # no submission: kept as exported (empty)
    ])
    _, log, _ = _grade(canvas, out, "--canvas-gradebook", export)
    filled = _rows(out / "canvas_gradebook.csv")
    assert filled[:2] == _rows(export)[:2]  # header and points possible as exported
    # Canvas reads plain numbers; the copy writes up to two decimals, as few as needed
    assert [(r[1], r[5]) for r in filled[2:]] == [("2001", "7"), ("2002", "0"), ("2003", "0"), ("2009", "")]
    assert [r[6] for r in filled[2:]] == ["0.00", "0.00", "0.00", ""]  # a read-only total untouched
    assert _rows(export)[2][5] == ""  # the instructor's file is never changed

    moodle, _ = _moodle(tmp_path)
    header = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
              "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
    worksheet = _csv(tmp_path / "worksheet.csv", [header] + [
        [f"Participant {pid}", name, f"{pid}@example.org", "Submitted for grading", "", "14.00", "Yes",
         "Friday, 2 October 2026, 3:00 PM", "-", ""]
        for pid, name in [(3001, "Ada Moodle"), (3002, "Bob Moodle"), (3003, "Cyd Moodle"), (3009, "Dee Absent")]])
    _grade(moodle, out, "--moodle-worksheet", worksheet, "--missing-zero")
    filled = _rows(out / "moodle_worksheet.csv")
    assert filled[0] == header
    # 7 of 7 points scaled to the worksheet's maximum of 14; --missing-zero: 0 for the student without a submission
    assert [(r[0], r[4]) for r in filled[1:]] == [("Participant 3001", "14.00"), ("Participant 3002", "0.00"),
                                                  ("Participant 3003", "0.00"), ("Participant 3009", "0.00")]
    assert (out / "handback.md").is_file()


def test_no_student_found_is_exit_2_and_says_what_was_seen(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ["ada.ipynb", "bob.ipynb", "grades.csv"]:
        (loose / name).write_text("{}")
    proc = run_cli("grade", A, loose, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: no student found in {loose}: it holds 3 file(s) (.ipynb 2, .csv 1)" in proc.stderr
    assert "'ada.ipynb'" in proc.stderr and LAYOUTS["canvas"] in proc.stderr and LAYOUTS["gradescope"] in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()

    # One empty folder in a zip: a student's folder, or a wrapper of nothing; either way, nothing to grade.
    empty_zip = pf.write({"Assignment 1/": b""}, tmp_path / "empty", as_zip=True)
    proc = run_cli("grade", A, empty_zip, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: no notebook found in {empty_zip}" in proc.stderr and "it holds no file" in proc.stderr


def test_a_zip_bomb_is_refused_in_seconds_leaving_nothing(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"ada/{FILE}", bytes(60 * 2**20))  # 60 MB of zeros, 60 kB zipped
    t0 = time.monotonic()
    proc = run_cli("grade", A, bomb, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: {bomb}: member 'ada/{FILE}' declares 60 MB, over the 50 MB bound for one file" in proc.stderr
    assert time.monotonic() - t0 < 60  # the command's start included; the refusal itself takes no time
    assert sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file()) < 2**20


def test_a_symlinked_notebook_is_not_followed_and_its_row_says_why(tmp_path):
    folder = pf.folders([pf.Person("Bob", "Dir", 1, "bob", [pf.Upload({FILE: "{ broken"})])], tmp_path / "class")
    (folder / "mallory").mkdir()
    (folder / "mallory" / FILE).symlink_to(ROOT / "solutions" / A / FILE)  # the instructor's notebook
    rows, log, summary = _grade(folder, tmp_path / "out")
    _check(rows["mallory"], 0.0, "ungraded", "", MISSING, f"{FILE} is a symbolic link; not followed")
    assert f"mallory: {FILE} is a symbolic link; not followed" in summary
