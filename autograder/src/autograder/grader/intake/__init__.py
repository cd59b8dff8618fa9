"""Intake: the students in a download, whatever shape the learning platform gave it.

:func:`discover` takes a folder or a zip, detects its layout (:mod:`.detect`: a folder per
student, nbgrader's ``submitted/``, Canvas, Moodle, Blackboard, Gradescope: one module each),
finds every student and their newest attempt, copies the notebooks to grade aside
(:mod:`.stage`) and says what it left out and why. Nothing is followed out of the input
(:mod:`.scan`), nothing unbounded is extracted (:mod:`.unzip`), and an input in which no student
can be found is an error that says what it held, never an empty class.
"""

import shutil
import zipfile
from pathlib import Path

from ...errors import GraderError
from . import folders
from . import stage as staging
from .detect import LAYOUTS, PLATFORMS, detect, no_notebook, nothing_found, unwrap
from .model import Intake, Skipped, Tree
from .scan import scan
from .unzip import MAX_FILE_BYTES, MAX_TOTAL_BYTES, extract

__all__ = ["Intake", "Skipped", "LAYOUTS", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "discover"]

PARSERS = {m.NAME: m.parse for m in PLATFORMS}


def discover(submissions: Path, scratch: Path, assignment: str | None = None) -> Intake:
    """The students in ``submissions`` (a folder, or a zip extracted into ``scratch/unzipped`` while
    intake reads it), their notebooks copied into ``scratch/intake``. ``assignment`` (its folder
    name) picks each student's folder for it in nbgrader's ``submitted/``."""
    submissions = Path(submissions)
    if not submissions.exists():
        raise GraderError(f"submissions not found: {submissions}")
    scratch = Path(scratch)
    if not submissions.is_dir() and not (submissions.is_file() and zipfile.is_zipfile(submissions)):
        raise GraderError(f"{submissions} is neither a folder nor a zip file")
    try:
        tree = scan(submissions) if submissions.is_dir() else extract(submissions, scratch / "unzipped")
        return _read(str(submissions), unwrap(tree, assignment), scratch, assignment)
    finally:
        shutil.rmtree(scratch / "unzipped", ignore_errors=True)  # what is graded is intake's copies


def _read(shown: str, tree: Tree, scratch: Path, assignment: str | None) -> Intake:
    layout = detect(tree, assignment)
    if layout in PARSERS:
        found, skipped = PARSERS[layout](tree, assignment)
    else:
        found, skipped = folders.parse(tree, assignment, nbgrader=layout == folders.NBGRADER)
    if not found:
        raise GraderError(nothing_found(shown, tree))
    students, more = staging.stage(found, tree, scratch / "intake")
    skipped = list(dict.fromkeys(skipped + more))  # a group's shared folder is listed once
    if not any(st.files for st in students):
        raise GraderError(no_notebook(shown, tree, layout, [st.label for st in students],
                                      sorted({n for st in students for n in st.notes})))
    return Intake(layout, students, sorted(skipped, key=lambda s: s.path))
