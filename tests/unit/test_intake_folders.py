"""Intake of a folder per student and of nbgrader's submitted/: students, copies, links, errors, the report."""

import os
import zipfile
from pathlib import Path

import pytest

from autograder.errors import GraderError
from autograder.grader.intake import discover
from autograder.grader.intake.detect import LAYOUTS
from autograder.grader import assignment
from autograder.grader.results import intake_lines, summary_lines
from autograder.grader.submissions import submission_digest


def _nb(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_folder_per_student_and_the_debris_looked_through(tmp_path):
    subs = tmp_path / "subs"
    _nb(subs / "ada" / "rnn_forward.ipynb", "ada's")
    _nb(subs / "ada" / ".ipynb_checkpoints" / "rnn_forward-checkpoint.ipynb")
    _nb(subs / "ada" / "answers.txt", "notes")
    _nb(subs / "bob smith" / "01_rnn_forward" / "rnn_forward.ipynb")  # as nbgrader collect leaves it
    (subs / "cyd").mkdir()  # no notebook: still a student (graded as missing it)
    _nb(subs / ".hidden" / "x.ipynb")
    _nb(subs / "__MACOSX" / "x.ipynb")
    _nb(subs / "loose.ipynb")  # not in a student's folder
    intake = discover(subs, tmp_path / "scratch")
    assert intake.layout == "folders"
    students = intake.students
    assert [(s.id, s.label, s.platform_id, s.notes) for s in students] == [
        ("ada", "ada", "", ()), ("bob_smith", "bob smith", "", ()), ("cyd", "cyd", "", ())]
    copies = tmp_path / "scratch" / "intake"
    assert students[0].files == [copies / "ada" / "rnn_forward.ipynb"]  # a copy: what is graded cannot change
    assert students[0].files[0].read_text() == "ada's"
    assert students[1].files == [copies / "bob_smith" / "01_rnn_forward" / "rnn_forward.ipynb"]
    assert students[2].files == []
    assert students[0].digest == submission_digest("ada\0", students[0].files)
    assert [(s.path, s.why) for s in intake.skipped] == [("ada/answers.txt", "not a notebook"),
                                                         ("loose.ipynb", "not in a student's folder")]


def test_what_is_not_there_or_not_a_zip_is_refused(tmp_path):
    with pytest.raises(GraderError, match="submissions not found"):
        discover(tmp_path / "missing", tmp_path)
    _nb(tmp_path / "notes.txt", "hello")
    with pytest.raises(GraderError, match="neither a folder nor a zip"):
        discover(tmp_path / "notes.txt", tmp_path)


def test_one_wrapping_folder_of_a_zip_is_looked_through(tmp_path):
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Assignment 1/ada lovelace/rnn_forward.ipynb", "{}")
        zf.writestr("Assignment 1/bob/rnn_forward.ipynb", "{}")
        zf.writestr("Assignment 1/bob/report.pdf", "%PDF")
        zf.writestr("__MACOSX/Assignment 1/._bob", "junk")
    intake = discover(z, tmp_path / "out")
    assert [(s.id, s.label) for s in intake.students] == [("ada_lovelace", "ada lovelace"), ("bob", "bob")]
    assert intake.students[0].files == [tmp_path / "out" / "intake" / "ada_lovelace" / "rnn_forward.ipynb"]
    assert [(s.path, s.why) for s in intake.skipped] == [("Assignment 1/bob/report.pdf", "not a notebook")]
    assert not (tmp_path / "out" / "unzipped" / "Assignment 1" / "bob" / "report.pdf").exists()  # never extracted


def test_a_folder_holding_a_notebook_is_a_student_not_a_wrapper(tmp_path):
    _nb(tmp_path / "subs" / "ada" / "rnn_forward.ipynb")
    _nb(tmp_path / "subs" / "ada" / "extra" / "old.ipynb")
    intake = discover(tmp_path / "subs", tmp_path)
    assert [s.id for s in intake.students] == ["ada"]
    assert [p.name for p in intake.students[0].files] == ["rnn_forward.ipynb", "old.ipynb"]  # the top one first


def test_nbgrader_submitted_reads_only_this_assignment(tmp_path):
    sub = tmp_path / "course" / "submitted"
    _nb(sub / "ada" / "01_rnn_forward" / "rnn_forward.ipynb")
    _nb(sub / "ada" / "01_rnn_forward" / "timestamp.txt", "2026-10-02 14:00:05.000000 UTC")
    _nb(sub / "ada" / "02_bptt" / "bptt.ipynb")  # another assignment: never graded as this one
    _nb(sub / "bob" / "02_bptt" / "bptt.ipynb")
    _nb(sub / "bob" / "02_bptt" / "timestamp.txt", "2026-10-01 09:00:00.000000 UTC")
    (sub / "cyd").mkdir()
    (sub / "cyd" / "01_rnn_forward").symlink_to(sub / "ada" / "01_rnn_forward", target_is_directory=True)
    intake = discover(sub, tmp_path / "out", "01_rnn_forward")
    assert intake.layout == "nbgrader"
    assert [(s.id, [p.name for p in s.files], s.notes) for s in intake.students] == [
        ("ada", ["rnn_forward.ipynb"], ()), ("bob", [], ()),
        ("cyd", [], ("01_rnn_forward is a symbolic link; not followed",))]
    assert [(s.path, s.why) for s in intake.skipped] == [("ada/02_bptt/", "another assignment's folder"),
                                                         ("bob/02_bptt/", "another assignment's folder")]


def test_one_student_in_nbgrader_submitted_is_not_taken_for_a_wrapper(tmp_path):
    _nb(tmp_path / "submitted" / "ada" / "01_rnn_forward" / "rnn_forward.ipynb")
    _nb(tmp_path / "submitted" / "ada" / "01_rnn_forward" / "timestamp.txt")
    intake = discover(tmp_path / "submitted", tmp_path / "out", "01_rnn_forward")
    assert (intake.layout, [s.id for s in intake.students]) == ("nbgrader", ["ada"])


def test_links_are_never_followed_and_the_row_says_why(tmp_path):
    secret = _nb(tmp_path / "instructor" / "rnn_forward.ipynb", "the solution")
    subs = tmp_path / "subs"
    _nb(subs / "ada" / "rnn_forward.ipynb", "ada's")
    (subs / "mallory").mkdir()
    (subs / "mallory" / "rnn_forward.ipynb").symlink_to(secret)
    (subs / "trudy").symlink_to(secret.parent, target_is_directory=True)  # a whole folder
    (subs / "eve").mkdir()
    (subs / "eve" / "work").symlink_to(secret.parent, target_is_directory=True)  # a folder inside one
    intake = discover(subs, tmp_path / "out")
    rows = {s.id: (s.files, s.notes) for s in intake.students}
    assert rows["mallory"] == ([], ("rnn_forward.ipynb is a symbolic link; not followed",))
    assert rows["trudy"] == ([], ("trudy is a symbolic link; not followed",))
    assert rows["eve"] == ([], ("work is a symbolic link; not followed",))
    assert [p.read_text() for p in rows["ada"][0]] == ["ada's"]
    staged = [p for p in (tmp_path / "out" / "intake").rglob("*") if p.is_file()]
    assert [p.read_text() for p in staged] == ["ada's"]  # the solution was never read


def test_a_fifo_is_not_read(tmp_path):
    subs = tmp_path / "subs"
    _nb(subs / "ada" / "rnn_forward.ipynb")
    (subs / "bob").mkdir()
    os.mkfifo(subs / "bob" / "rnn_forward.ipynb")  # reading it would block the run
    intake = discover(subs, tmp_path / "out")
    assert intake.students[1].notes == ("rnn_forward.ipynb is not a regular file; not read",)


def test_no_student_at_all_is_an_error_that_says_what_was_seen(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraderError, match=r"no student found in .*empty: it holds no file, 0 folder\(s\)") as exc:
        discover(tmp_path / "empty", tmp_path / "out")
    for description in LAYOUTS.values():
        assert description in str(exc.value)
    flat = tmp_path / "flat"
    for name in ["ada.ipynb", "bob.ipynb", "notes.txt"]:
        _nb(flat / name)
    with pytest.raises(GraderError, match=r"3 file\(s\) \(.ipynb 2, .txt 1\).*'ada.ipynb', 'bob.ipynb', 'notes.txt'"):
        discover(flat, tmp_path / "out")


def test_students_without_one_notebook_between_them_are_an_error(tmp_path):
    subs = tmp_path / "wrong"
    _nb(subs / "solutions" / "README.md")
    _nb(subs / "book" / "index.md")
    with pytest.raises(GraderError, match=r"no notebook found in .*wrong: read as a folder per student.*2 student"):
        discover(subs, tmp_path / "out")
    linked = tmp_path / "linked"
    (linked / "ada").mkdir(parents=True)
    (linked / "ada" / "rnn_forward.ipynb").symlink_to(_nb(tmp_path / "x.ipynb"))
    with pytest.raises(GraderError, match="rnn_forward.ipynb is a symbolic link; not followed"):
        discover(linked, tmp_path / "out")


def test_an_oversized_notebook_in_a_folder_is_not_read(tmp_path, monkeypatch):
    from autograder.grader.intake import stage

    monkeypatch.setattr(stage, "MAX_FILE_BYTES", 1000)
    _nb(tmp_path / "subs" / "ada" / "rnn_forward.ipynb", "x" * 1001)
    _nb(tmp_path / "subs" / "bob" / "rnn_forward.ipynb", "{}")
    intake = discover(tmp_path / "subs", tmp_path / "out")
    assert intake.students[0].files == []
    assert intake.students[0].notes == ("rnn_forward.ipynb is 1001 bytes, over the 1000 bytes bound for one notebook; "
                                        "not read",)


def test_the_intake_part_of_the_summary(tmp_path):
    _nb(tmp_path / "subs" / "ada" / "rnn_forward.ipynb")
    _nb(tmp_path / "subs" / "ada" / "answers.txt")
    (tmp_path / "subs" / "bob").mkdir()
    (tmp_path / "subs" / "bob" / "rnn_forward.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    intake = discover(tmp_path / "subs", tmp_path / "out")
    lines = intake_lines(intake)
    assert lines == ["## Intake", "", f"Layout: {LAYOUTS['folders']}.", "", "Students found: 2 (1 with a notebook).",
                     "", "Intake notes (also in each row's reason):", "",
                     "- bob: rnn_forward.ipynb is a symbolic link; not followed", "", "Files skipped: 1, and why:", "",
                     "- not a notebook, 1 file(s): `ada/answers.txt`", ""]
    a = assignment.Assignment("01_x", Path("/nowhere"), ["nb"], [assignment.TestCell("t1", "nb", 1.0)], {"nb": {"t1"}},
                              10)
    summary = summary_lines(a, [], [], intake)
    assert summary[:2 + len(lines) + 2] == ["# 01_x: 0 submissions, 0 could not be graded", ""] + lines + ["## Grades", ""]
    assert "## Intake" not in summary_lines(a, [], [])  # without an intake (callers of old), as before


def test_a_changed_note_changes_the_digest(tmp_path):
    _nb(tmp_path / "subs" / "ada" / "rnn_forward.ipynb")
    _nb(tmp_path / "subs" / "bob" / "rnn_forward.ipynb")
    before = {s.id: s.digest for s in discover(tmp_path / "subs", tmp_path / "out").students}
    (tmp_path / "subs" / "bob" / "rnn_forward.ipynb").unlink()
    (tmp_path / "subs" / "bob" / "rnn_forward.ipynb").symlink_to(tmp_path / "subs" / "ada" / "rnn_forward.ipynb")
    after = {s.id: s.digest for s in discover(tmp_path / "subs", tmp_path / "out").students}
    assert before["ada"] == after["ada"] and before["bob"] != after["bob"]
