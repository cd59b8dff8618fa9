"""What travels between the coordinator and a worker: one student's task and its graded result.

Workers share no filesystem with the coordinator, so a :class:`StudentTask` carries the
submission's notebooks as bytes, and a :class:`GradedStudent` the row of ``grades.csv``, the
messages, the feedback pages and the student's SQLite gradebook as bytes. Dask pickles both. This
module is the one place they are defined, written (:meth:`StudentTask.from_student`,
:meth:`GradedStudent.from_folder`) and read back (:meth:`StudentTask.write_files`,
:meth:`GradedStudent.save`).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..assignment import Assignment
from ..results import Result
from ..submissions import Student
from ..workspace import save_result

GRADEBOOK = "gradebook.db"  # the student's private nbgrader gradebook in their course folder


@dataclass(frozen=True)
class StudentTask:
    """One student to grade: who, their submission's notebooks and the run it belongs to."""
    student: str  # Student.id
    label: str
    platform_id: str
    notes: tuple[str, ...]
    digest: str  # the submission's hash (what makes the result re-usable, and the task's key)
    files: tuple[tuple[str, bytes], ...]  # (file name, bytes) of every notebook, in intake's order
    fingerprint: str  # the coordinator's grading fingerprint: the worker's template must have the same
    nonce: str  # the run's cross-check nonce

    @classmethod
    def from_student(cls, st: Student, fingerprint: str, nonce: str) -> "StudentTask":
        return cls(st.id, st.label, st.platform_id, tuple(st.notes), st.digest,
                   tuple((p.name, p.read_bytes()) for p in st.files), fingerprint, nonce)

    @property
    def key(self) -> str:
        """The Dask key: one per student, submission and grading setup (a retried task is the same task)."""
        return f"autograder-{self.fingerprint[:12]}-{self.student}-{self.digest[:16]}"

    def write_files(self, folder: Path) -> Student:
        """Write the notebooks under ``folder`` (each in a numbered folder: two files may share a name,
        and intake's order decides which one is graded); return the :class:`Student` graded from them."""
        if folder.exists():
            shutil.rmtree(folder)
        paths = []
        for k, (name, data) in enumerate(self.files):
            if Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(f"not a file name: {name!r}")
            path = folder / str(k) / name
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
            paths.append(path)
        return Student(self.student, self.label, paths, self.digest, self.platform_id, self.notes)


@dataclass(frozen=True)
class GradedStudent:
    """A student graded on a worker: what the coordinator writes into ``out/course/students/<id>``."""
    student: str
    row: dict[str, object]  # Result.to_row: the row of grades.csv
    messages: dict[str, str]  # grade id -> why points were lost
    feedback: dict[str, bytes]  # "<notebook>.html" -> the feedback page
    gradebook: bytes  # the student's gradebook.db ("" where there is none)
    worker: str  # the worker's address

    @classmethod
    def from_folder(cls, a: Assignment, result: Result, sdir: Path, worker: str) -> "GradedStudent":
        """Read back what ``grade_student`` left in the student's course folder ``sdir``."""
        db = sdir / GRADEBOOK
        return cls(result.student, result.to_row(a), dict(result.messages),
                   {f"{nb}.html": (sdir / "feedback" / f"{nb}.html").read_bytes() for nb in a.notebooks},
                   db.read_bytes() if db.is_file() else b"", worker)

    def result(self, a: Assignment) -> Result:
        """The typed result (as ``kept_results`` restores a saved one)."""
        result = Result.from_row(self.row, a)
        result.messages = dict(self.messages)
        return result

    def save(self, sdir: Path, fingerprint: str, digest: str) -> None:
        """Write the student's folder as a local run leaves it: feedback pages, gradebook, then ``result.json``
        (last, so that a coordinator killed half-way leaves no half-result behind)."""
        if sdir.exists():
            shutil.rmtree(sdir)
        (sdir / "feedback").mkdir(parents=True)
        for name, data in self.feedback.items():
            if Path(name).name != name:
                raise ValueError(f"not a file name: {name!r}")
            (sdir / "feedback" / name).write_bytes(data)
        if self.gradebook:
            (sdir / GRADEBOOK).write_bytes(self.gradebook)
        save_result(sdir, fingerprint, digest, self.row, list(self.feedback), self.messages)
