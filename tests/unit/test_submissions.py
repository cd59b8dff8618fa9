"""Finding students in a folder or zip, naming them, and choosing and cleaning the notebook graded."""

import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.errors import GraderError
from autograder.grader.submissions import (Student, discover, pick_notebook, safe_extract, strip_unknown_grade_ids,
                                           student_id, submission_digest)


def _nb(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discover_finds_one_student_per_folder_and_skips_debris(tmp_path):
    subs = tmp_path / "subs"
    _nb(subs / "ada" / "rnn_forward.ipynb")
    _nb(subs / "ada" / ".ipynb_checkpoints" / "rnn_forward-checkpoint.ipynb")
    _nb(subs / "bob smith" / "01_rnn_forward" / "rnn_forward.ipynb")  # as nbgrader collect leaves it
    (subs / "cyd").mkdir()  # no notebook: still a student (graded as missing it)
    _nb(subs / ".hidden" / "x.ipynb")
    _nb(subs / "__MACOSX" / "x.ipynb")
    _nb(subs / "loose.ipynb")  # not in a student's folder
    students = discover(subs, tmp_path / "scratch")
    assert [(s.id, s.label) for s in students] == [("ada", "ada"), ("bob_smith", "bob smith"), ("cyd", "cyd")]
    assert students[0].files == [subs / "ada" / "rnn_forward.ipynb"]
    assert students[1].files == [subs / "bob smith" / "01_rnn_forward" / "rnn_forward.ipynb"]
    assert students[2].files == []
    assert students[0].digest == submission_digest("ada", students[0].files)


def test_discover_refuses_what_is_not_there_or_not_a_zip(tmp_path):
    with pytest.raises(GraderError, match="submissions not found"):
        discover(tmp_path / "missing", tmp_path)
    _nb(tmp_path / "notes.txt", "hello")
    with pytest.raises(GraderError, match="neither a folder nor a zip"):
        discover(tmp_path / "notes.txt", tmp_path)


def test_a_zip_with_one_wrapping_folder_is_unwrapped(tmp_path):
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Assignment 1/ada lovelace/rnn_forward.ipynb", "{}")
        zf.writestr("Assignment 1/bob/rnn_forward.ipynb", "{}")
        zf.writestr("__MACOSX/Assignment 1/._bob", "junk")
    students = discover(z, tmp_path / "out")
    assert [(s.id, s.label) for s in students] == [("ada_lovelace", "ada lovelace"), ("bob", "bob")]
    assert students[0].files == [tmp_path / "out" / "unzipped" / "Assignment 1" / "ada lovelace" / "rnn_forward.ipynb"]


def test_a_folder_holding_a_notebook_is_a_student_not_a_wrapper(tmp_path):
    _nb(tmp_path / "subs" / "ada" / "rnn_forward.ipynb")
    _nb(tmp_path / "subs" / "ada" / "extra" / "old.ipynb")
    assert [s.id for s in discover(tmp_path / "subs", tmp_path)] == ["ada"]


@pytest.mark.parametrize("member", ["../escaped/rnn_forward.ipynb", "/abs/rnn_forward.ipynb", "ok/../../x.ipynb"])
def test_zip_members_that_climb_out_are_refused(tmp_path, member):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ada/rnn_forward.ipynb", "{}")
        zf.writestr(member, "{}")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(GraderError, match="refusing unsafe member"):
        safe_extract(z, dest)
    assert list(dest.iterdir()) == []  # nothing extracted, not even the safe member
    assert not (tmp_path / "escaped").exists()


def test_a_symlink_member_is_refused(tmp_path):
    z = tmp_path / "link.zip"
    info = zipfile.ZipInfo("ada/rnn_forward.ipynb")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(GraderError, match="refusing unsafe member 'ada/rnn_forward.ipynb'"):
        safe_extract(z, tmp_path / "dest")


def test_student_ids_are_sanitised_and_unique():
    taken: set[str] = set()
    assert [student_id(label, taken) for label in ["a b", "a_b", "a/b", "...", "", "Zoë.", "ok-1.x"]] == \
        ["a_b", "a_b_2", "a_b_3", "student", "student_2", "Zo", "ok-1.x"]
    assert taken == {"a_b", "a_b_2", "a_b_3", "student", "student_2", "Zo", "ok-1.x"}


def test_the_digest_changes_with_the_bytes_the_name_and_the_label(tmp_path):
    path = _nb(tmp_path / "rnn_forward.ipynb", "one")
    first = submission_digest("ada", [path])
    assert submission_digest("ada", [path]) == first
    assert submission_digest("bob", [path]) != first
    path.write_text("two")
    assert submission_digest("ada", [path]) != first
    assert submission_digest("ada", [path.rename(tmp_path / "other.ipynb")]) != submission_digest("ada", [path])


def _student(*names: str) -> Student:
    files = [Path(f"/subs/ada/{n}") for n in names]
    return Student("ada", "ada", files, "")


def test_the_notebook_is_picked_by_name_or_as_the_only_one():
    assert pick_notebook(_student("notes.ipynb", "rnn_forward.ipynb"), "rnn_forward", single=True) == \
        (Path("/subs/ada/rnn_forward.ipynb"), None)
    assert pick_notebook(_student("rnn_forward (1).ipynb"), "rnn_forward", single=True) == \
        (Path("/subs/ada/rnn_forward (1).ipynb"), "notebook rnn_forward (1).ipynb graded as rnn_forward.ipynb")
    assert pick_notebook(_student("rnn_forward (1).ipynb"), "rnn_forward", single=False) == (None, None)
    assert pick_notebook(_student("a.ipynb", "b.ipynb"), "rnn_forward", single=True) == (None, None)
    assert pick_notebook(_student(), "rnn_forward", single=True) == (None, None)


def _cell(gid: str | None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x = 1")
    if gid is not None:
        cell.metadata["nbgrader"] = {"grade_id": gid, "grade": False, "solution": True}
    return cell


def test_unknown_and_duplicate_grade_ids_are_stripped_with_notes():
    nb = nbformat.v4.new_notebook(cells=[_cell("a"), _cell("mine"), _cell("a"), _cell(None), _cell("c")])
    notes = strip_unknown_grade_ids(nb, {"a", "b", "c", "d"})
    assert notes == ["cell with unknown grade id 'mine' treated as an ordinary cell",
                     "duplicate cell 'a' treated as an ordinary cell",
                     "cell 'b' was missing and was restored from the assignment",
                     "cell 'd' was missing and was restored from the assignment"]
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells] == ["a", None, None, None, "c"]


def test_a_clean_notebook_gets_no_notes():
    nb = nbformat.v4.new_notebook(cells=[_cell("a"), _cell(None), _cell("b")])
    assert strip_unknown_grade_ids(nb, {"a", "b"}) == []
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells] == ["a", None, "b"]
