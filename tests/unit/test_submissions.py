"""Naming students, hashing their submissions, and choosing and cleaning the notebook graded.

Finding the students in a folder or a download is intake's: tests/unit/test_intake_*.py.
"""

from pathlib import Path

import nbformat

from autograder.grader.submissions import Student, pick_notebook, strip_unknown_grade_ids, student_id, submission_digest


def _nb(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


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
