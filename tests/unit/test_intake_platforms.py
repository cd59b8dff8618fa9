"""Intake of each platform's download, as tests/platforms.py builds it (zip and extracted folder):
the layout detected, who each student is on the platform, which attempt is graded, what is skipped."""

import re
import zipfile
from datetime import datetime

import pytest

import platforms as pf
from autograder.errors import GraderError
from autograder.grader.intake import discover

EARLY, LATER = datetime(2026, 10, 2, 14, 0, 5), datetime(2026, 10, 2, 15, 0, 5)
NB = "rnn_forward.ipynb"


def _class() -> list[pf.Person]:
    """A resubmission (two uploads of one name), a late upload with a non-notebook file, a student
    with no notebook (a PDF and typed text), a username holding an underscore."""
    return [
        pf.Person("Ada", "Lovelace", 1001, "alovelace", [pf.Upload({NB: "ada v1"}, EARLY),
                                                         pf.Upload({NB: "ada v2"}, LATER)]),
        pf.Person("Bob", "Smith", 1002, "bsmith", [pf.Upload({NB: "bob", "notes.txt": "hi"}, LATER, late=True)]),
        pf.Person("Cyd", "O'Neil", 1003, "cyd_o", [pf.Upload({"answers.pdf": "%PDF"}, EARLY, text="see pdf")]),
    ]


def _rows(intake):
    return {s.id: (s.label, s.platform_id, [p.read_text() for p in s.files], s.notes) for s in intake.students}


def _skipped(intake):
    return sorted((s.path.rsplit("/", 1)[-1], s.why) for s in intake.skipped)


@pytest.mark.parametrize("as_zip", [True, False])
def test_canvas(tmp_path, as_zip):
    download = pf.canvas(_class(), tmp_path / "submissions", as_zip=as_zip)
    intake = discover(download, tmp_path / "out")
    assert intake.layout == "canvas"
    assert _rows(intake) == {
        "lovelaceada_1001": ("lovelaceada", "1001", ["ada v2"],
                             ("rnn_forward-1.ipynb graded as rnn_forward.ipynb (Canvas numbers a file uploaded again "
                              "under the same name)",)),
        "oneilcyd_1003": ("oneilcyd", "1003", [], ()),
        "smithbob_1002": ("smithbob", "1002", ["bob"], ("Canvas marked the submission LATE",)),
    }
    assert intake.students[0].files[0].name == NB  # graded under the assignment's name
    assert _skipped(intake) == [("oneilcyd_1003_90004_answers.pdf", "not a notebook"),
                                ("oneilcyd_1003_text.html", "a Canvas text entry, not a notebook"),
                                ("smithbob_LATE_1002_90003_notes.txt", "not a notebook")]


def test_canvas_anonymous_and_two_uploads_of_one_name(tmp_path):
    z = tmp_path / "anon.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("LATE_anon_Xy3Zq_5001_rnn_forward.ipynb", "anon")
        zf.writestr("lovelaceada_1001_5002_rnn_forward.ipynb", "first upload")
        zf.writestr("lovelaceada_1001_5009_rnn_forward-2.ipynb", "later upload")
        zf.writestr("README.txt", "not Canvas'")
    intake = discover(z, tmp_path / "out")
    assert _rows(intake) == {
        "anon_Xy3Zq": ("anon_Xy3Zq", "", ["anon"], ("anonymous Canvas submission: no user id",
                                                    "Canvas marked the submission LATE")),
        "lovelaceada_1001": ("lovelaceada", "1001", ["later upload"],
                             ("rnn_forward-2.ipynb graded as rnn_forward.ipynb (Canvas numbers a file uploaded again "
                              "under the same name)",)),
    }
    assert _skipped(intake) == [("README.txt", "not named as Canvas names a submitted file"),
                                ("lovelaceada_1001_5002_rnn_forward.ipynb",
                                 "an older upload of rnn_forward.ipynb by the same student")]


@pytest.mark.parametrize("as_zip", [True, False])
@pytest.mark.parametrize("trailing", [False, True])
def test_moodle(tmp_path, as_zip, trailing):
    download = pf.moodle(_class(), tmp_path / "submissions", as_zip=as_zip, trailing_underscore=trailing)
    intake = discover(download, tmp_path / "out")
    assert intake.layout == "moodle"
    assert _rows(intake) == {
        "Ada_Lovelace_1001": ("Ada Lovelace", "1001", ["ada v2"], ()),
        "Bob_Smith_1002": ("Bob Smith", "1002", ["bob"], ()),
        "Cyd_O_Neil_1003": ("Cyd O'Neil", "1003", [], ()),
    }
    assert _skipped(intake) == [("answers.pdf", "not a notebook"), ("notes.txt", "not a notebook"),
                                ("onlinetext.html", "Moodle assignsubmission_onlinetext, not a file submission")]


def test_moodle_not_in_folders(tmp_path):
    intake = discover(pf.moodle(_class(), tmp_path / "flat", in_folders=False), tmp_path / "out")
    assert intake.layout == "moodle"
    assert {k: v[:3] for k, v in _rows(intake).items()} == {
        "Ada_Lovelace_1001": ("Ada Lovelace", "1001", ["ada v2"]), "Bob_Smith_1002": ("Bob Smith", "1002", ["bob"]),
        "Cyd_O_Neil_1003": ("Cyd O'Neil", "1003", [])}


@pytest.mark.parametrize("as_zip", [True, False])
def test_blackboard(tmp_path, as_zip):
    download = pf.blackboard(_class(), "RNN 1_forward", tmp_path / "gradebook", as_zip=as_zip)
    intake = discover(download, tmp_path / "out")
    assert intake.layout == "blackboard"
    assert _rows(intake) == {
        "alovelace": ("Ada Lovelace", "alovelace", ["ada v2"], ("newest of 2 attempts graded (2026-10-02 15:00:05)",)),
        "bsmith": ("Bob Smith", "bsmith", ["bob"], ()),
        "cyd_o": ("Cyd O'Neil", "cyd_o", [], ()),  # the receipt names the username with its underscore
    }
    assert _skipped(intake) == [
        ("RNN 1_forward_alovelace_attempt_2026-10-02-14-00-05_rnn_forward.ipynb",
         "an older attempt (2026-10-02 14:00:05)"),
        ("RNN 1_forward_bsmith_attempt_2026-10-02-15-00-05_notes.txt", "not a notebook"),
        ("RNN 1_forward_cyd_o_attempt_2026-10-02-14-00-05_answers.pdf", "not a notebook")]


def test_blackboard_without_receipts_takes_the_last_part_of_the_name(tmp_path):
    folder = pf.blackboard(_class(), "HW", tmp_path / "gradebook", as_zip=False)
    for receipt in folder.glob("*_attempt_*.txt"):
        if re.search(r"_attempt_[0-9-]+\.txt$", receipt.name):  # a receipt, not a student's .txt file
            receipt.unlink()
    rows = _rows(discover(folder, tmp_path / "out"))
    assert sorted(rows) == ["alovelace", "bsmith", "o"]  # without its receipt, "cyd_o" cannot be told apart
    assert rows["alovelace"][0] == "alovelace"


@pytest.mark.parametrize("as_zip", [True, False])
def test_gradescope(tmp_path, as_zip):
    people = _class()
    pair = [pf.Person("Dee", "Ng", 1004, "dng", [pf.Upload({NB: "the pair's"}, EARLY)]),
            pf.Person("Eve", "Ode", 1005, "eode")]
    download = pf.gradescope(people, tmp_path / "export", as_zip=as_zip, groups=[pair])
    intake = discover(download, tmp_path / "out")
    assert intake.layout == "gradescope"
    assert _rows(intake) == {
        "Ada_Lovelace_1001": ("Ada Lovelace", "1001", ["ada v2"], ()),
        "Bob_Smith_1002": ("Bob Smith", "1002", ["bob"], ()),
        "Cyd_O_Neil_1003": ("Cyd O'Neil", "1003", [], ()),
        "Dee_Ng_1004": ("Dee Ng", "1004", ["the pair's"], ()),  # a group submission: a row per member
        "Eve_Ode_1005": ("Eve Ode", "1005", ["the pair's"], ()),
    }
    assert _skipped(intake) == [("answers.pdf", "not a notebook"), ("notes.txt", "not a notebook")]


def test_gradescope_newest_submission_and_what_the_metadata_does_not_match(tmp_path):
    root = tmp_path / "assignment_1_export"
    for folder, text in [("submission_1", "old"), ("submission_2", "new"), ("submission_3", "nobody's")]:
        (root / folder).mkdir(parents=True)
        (root / folder / NB).write_text(text)
    (root / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: ''\n    :email: ada@example.edu\n"
        "  :created_at: 2026-10-02 14:00:05.000000000 -07:00\n"
        "submission_2:\n  :submitters:\n  - :name: Ada Lovelace\n    :email: ada@example.edu\n"
        "  :created_at: 2026-10-02 12:00:05.000000000 -10:00\n"  # 22:00:05 UTC: the newer one
        "submission_9:\n  :submitters:\n  - :name: Bob Smith\n    :sid: '1002'\n")
    rows = _rows(discover(tmp_path, tmp_path / "out"))
    assert rows == {
        "Ada_Lovelace_ada_example.edu": ("Ada Lovelace", "ada@example.edu", ["new"],
                                         ("newest of 2 attempts graded (2026-10-02 22:00:05 UTC)",)),
        "Bob_Smith_1002": ("Bob Smith", "1002", [],
                           ("submission_9, named in submission_metadata.yml, is missing from the export",)),
        "submission_3": ("submission_3", "", ["nobody's"], ("submission_3 is not in submission_metadata.yml",)),
    }


def test_gradescope_metadata_that_cannot_be_read_is_an_error(tmp_path):
    (tmp_path / "submission_1").mkdir()
    (tmp_path / "submission_1" / NB).write_text("{}")
    (tmp_path / "submission_metadata.yml").write_text("submission_1: [unclosed\n")
    with pytest.raises(GraderError, match="submission_metadata.yml cannot be read as Gradescope's submission metadata"):
        discover(tmp_path, tmp_path / "out")


def test_a_platform_download_wrapped_in_folders_is_looked_through(tmp_path):
    inner = pf.canvas(_class(), tmp_path / "x" / "Downloads" / "submissions", as_zip=False)
    assert inner.parent.name == "Downloads"
    intake = discover(tmp_path / "x", tmp_path / "out")
    assert intake.layout == "canvas" and len(intake.students) == 3
    assert all(s.path.startswith("Downloads/submissions/") for s in intake.skipped)


def test_a_link_in_a_flat_download_gives_its_student_a_row_that_says_why(tmp_path):
    folder = pf.canvas(_class(), tmp_path / "submissions", as_zip=False)
    ada = next(folder.glob("lovelaceada_*"))
    ada.unlink()
    ada.symlink_to(tmp_path / "instructor.ipynb")
    rows = _rows(discover(folder, tmp_path / "out"))
    assert rows["lovelaceada_1001"][2:] == ([], ("rnn_forward-1.ipynb is a symbolic link; not followed",))
