"""The submissions: students found in a folder or a zip, the notebook graded for each, and its hash."""

import hashlib
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from ..errors import GraderError

SYMLINK = 0o120000  # the file type bits of a symbolic link, in a zip member's external attributes


@dataclass(frozen=True)
class Student:
    id: str  # unique, safe as a folder name
    label: str  # the name as submitted (a folder's name, or the name a platform gave the student)
    files: list[Path]  # every .ipynb found for this student
    digest: str  # the hash of the submission (submission_digest)
    platform_id: str = ""  # who the student is on the learning platform (Canvas user id, Moodle participant id...)
    notes: tuple[str, ...] = ()  # what intake did for this student (attempt chosen, files refused), for their row


def safe_extract(zip_path: Path, dest: Path) -> None:
    """Extract a zip, refusing it whole if any member is absolute, climbs out with ``..`` or is a symlink."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (info.external_attr >> 16) & 0o170000 == SYMLINK:
                raise GraderError(f"{zip_path}: refusing unsafe member {name!r}")
        zf.extractall(dest)


def student_id(label: str, taken: set[str]) -> str:
    """A folder-safe id for ``label``, not in ``taken`` (then added to it)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "student"
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}_{n}", n + 1
    taken.add(sid)
    return sid


def _is_junk(path: Path) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


def _folders(top: Path) -> list[Path]:
    return [d for d in sorted(top.iterdir()) if d.is_dir() and not _is_junk(d.relative_to(top))]


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


def discover(submissions: Path, scratch: Path) -> list[Student]:
    """Students in a folder laid out ``<student>/<notebook>.ipynb``, or in a zip of one (extracted
    into ``scratch/unzipped``); one wrapping folder, dot files and ``__MACOSX`` are looked through."""
    submissions = Path(submissions)
    if not submissions.exists():
        raise GraderError(f"submissions not found: {submissions}")
    if submissions.is_file():
        if not zipfile.is_zipfile(submissions):
            raise GraderError(f"{submissions} is neither a folder nor a zip file")
        dest = scratch / "unzipped"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        safe_extract(submissions, dest)
        submissions = dest
    dirs = _folders(submissions)
    # A zip often wraps everything in one folder: look inside it.
    if len(dirs) == 1 and not any(dirs[0].glob("*.ipynb")) and any(d.is_dir() for d in dirs[0].iterdir()):
        dirs = _folders(dirs[0])
    taken: set[str] = set()
    students = []
    for d in dirs:
        files = sorted(p for p in d.rglob("*.ipynb") if not _is_junk(p.relative_to(d)))
        students.append(Student(student_id(d.name, taken), d.name, files, submission_digest(d.name, files)))
    return students


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


def strip_unknown_grade_ids(nb: NotebookNode, known_ids: set[str]) -> list[str]:
    """Strip nbgrader metadata that would stop nbgrader (unknown or duplicated grade ids), in place;
    return notes for the student's row.

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
    notes += [f"cell {gid!r} was missing and was restored from the assignment" for gid in sorted(known_ids - seen)]
    return notes
