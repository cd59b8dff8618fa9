"""A student's submission: who (:class:`Student`, a safe id), its hash, the notebook graded and its cleanup.

Finding the students in a folder or a platform's download is :mod:`.intake`'s part.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode


@dataclass(frozen=True)
class Student:
    id: str  # unique, safe as a folder name
    label: str  # the name as submitted (a folder's name, or the name a platform gave the student)
    files: list[Path]  # every .ipynb found for this student (intake's copies, top-level ones first)
    digest: str  # the hash of the submission (submission_digest)
    platform_id: str = ""  # who the student is on the learning platform (Canvas user id, Moodle participant id...)
    notes: tuple[str, ...] = ()  # what intake did for this student (attempt chosen, files refused), for their row


def student_id(label: str, taken: set[str]) -> str:
    """A folder-safe id for ``label``, not in ``taken`` (then added to it)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "student"
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}_{n}", n + 1
    taken.add(sid)
    return sid


def submission_digest(label: str, files: list[Path]) -> str:
    """The hex SHA-256 of a submission: its folder name, and each notebook's name and bytes."""
    h = hashlib.sha256(label.encode() + b"\0")
    for path in files:
        h.update(str(path.name).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError as exc:
            h.update(repr(exc).encode())
        h.update(b"\0")
    return h.hexdigest()


def pick_notebook(student: Student, nb_name: str, single: bool) -> tuple[Path | None, str | None]:
    """(the file graded as ``nb_name``.ipynb or None, a note when it had another name).

    ``single``: the assignment has one notebook, so a student's only notebook is it, whatever its name."""
    exact = [p for p in student.files if p.name == f"{nb_name}.ipynb"]
    if exact:
        return exact[0], None
    if single and len(student.files) == 1:
        p = student.files[0]
        return p, f"notebook {p.name} graded as {nb_name}.ipynb"
    return None, None


def strip_unknown_grade_ids(nb: NotebookNode, known_ids: set[str], note_missing: bool = True) -> list[str]:
    """Strip nbgrader metadata that would stop nbgrader (unknown or duplicated grade ids), in place;
    return notes for the student's row (with :func:`missing_cell_notes` unless ``note_missing`` is False).

    Test cells that are missing afterwards are restored from the gradebook by nbgrader
    (``OverwriteCells.add_missing_cells``), so the student is graded on every test.
    """
    notes, seen = [], set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        gid = meta.get("grade_id")
        if gid not in known_ids:
            notes.append(f"cell with unknown grade id {gid!r} treated as an ordinary cell")
            del cell.metadata["nbgrader"]
        elif gid in seen:
            notes.append(f"duplicate cell {gid!r} treated as an ordinary cell")
            del cell.metadata["nbgrader"]
        else:
            seen.add(gid)
    return notes + (missing_cell_notes(nb, known_ids) if note_missing else [])


def missing_cell_notes(nb: NotebookNode, known_ids: set[str]) -> list[str]:
    """A note for each grade id of ``known_ids`` no cell of ``nb`` carries."""
    seen = {(cell.metadata.get("nbgrader") or {}).get("grade_id") for cell in nb.cells}
    return [f"cell {gid!r} was missing and was restored from the assignment" for gid in sorted(known_ids - seen)]
