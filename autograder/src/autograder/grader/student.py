"""One student: their notebooks in a private copy of the prepared course, autograded, cross-checked.

The result, the feedback and the hashes that make it re-usable are saved in the student's folder
``out/course/students/<id>`` (``result.json`` last, so that a run killed half-way leaves no
half-result behind).
"""

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from .. import crosscheck, sandbox
from ..crosscheck.oracle import SolutionOracle
from ..errors import GraderError
from .assignment import Assignment
from .attempts import autograde
from .feedback import student_feedback
from .matching import restore_answers
from .messages import read_messages
from .results import Result, Status
from .submissions import Student, missing_cell_notes, pick_notebook, strip_unknown_grade_ids
from .worker import NbWorker
from .workspace import save_result

if TYPE_CHECKING:
    from .run import GradingRun


def place_notebooks(a: Assignment, student: Student, target_dir: Path,
                    released_dir: Path | None = None) -> tuple[str | None, list[str]]:
    """Write the student's notebooks where nbgrader looks for them; return (why it could not, or
    None; notes for their row).

    A notebook that lost its answer cells' nbgrader metadata is rebuilt from the released copy in
    ``released_dir`` (default: ``COURSE/release/<assignment>`` of the nbgrader course that
    ``target_dir``, ``COURSE/submitted/<student>/<assignment>``, lies in) with its answers matched
    by the names they define (:mod:`.matching`).
    """
    released_dir = released_dir or target_dir.parents[2] / "release" / a.name
    notes: list[str] = []
    target_dir.mkdir(parents=True)
    for nb_name in a.notebooks:
        path, note = pick_notebook(student, nb_name, single=len(a.notebooks) == 1)
        if note:
            notes.append(note)
        if path is None:
            return f"no {nb_name}.ipynb in the submission", notes
        try:
            nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is this student's problem
            return f"{path.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})", notes
        notes += strip_unknown_grade_ids(nb, a.known_ids[nb_name], note_missing=False)
        rebuilt = restore_answers(nb, nbformat.read(a.source / f"{nb_name}.ipynb", as_version=4),
                                  nbformat.read(released_dir / f"{nb_name}.ipynb", as_version=4))
        if rebuilt is None:
            notes += missing_cell_notes(nb, a.known_ids[nb_name])
        else:
            nb, notes = rebuilt.notebook, notes + rebuilt.notes
        nbformat.write(nb, target_dir / f"{nb_name}.ipynb")
    return None, notes


def cross_check(run: "GradingRun", student: Student, sdir: Path, scores: dict[str, float], skipped: list[str],
                settings: sandbox.Settings | None, oracle: SolutionOracle | None = None) -> list[str] | None:
    """Flag reasons from the cross-check (an empty list: it agrees), or None where there is none."""
    a = run.assignment
    if not crosscheck.available(a.name) or len(a.notebooks) != 1:
        return None
    nb_name = a.notebooks[0]
    submitted = nbformat.read(sdir / "submitted" / student.id / a.name / f"{nb_name}.ipynb", as_version=4)
    solution = nbformat.read(a.source / f"{nb_name}.ipynb", as_version=4)
    skip = {int(key.rpartition(":")[2]) for key in skipped if key.rpartition(":")[0] == nb_name}
    try:
        reasons, _ = crosscheck.run(a.name, submitted, solution, scores, {t.grade_id: t.points for t in a.tests},
                                    crosscheck.seed_for(student.digest, run.nonce), sdir / "crosscheck", skip=skip,
                                    sandbox_settings=settings, oracle=oracle)
    except RuntimeError as exc:  # the solution itself failed: the course's problem, not the student's
        raise GraderError(str(exc)) from exc
    return reasons


def grade_student(run: "GradingRun", student: Student, slot: int, worker: NbWorker,
                  oracle: SolutionOracle | None = None) -> Result:
    """Autograde one student in worker slot ``slot`` with that slot's nbgrader process ``worker`` and
    solution ``oracle`` (None: one for this student only); save and return the result."""
    t0 = time.monotonic()
    a, iso = run.assignment, run.isolation
    sdir = run.work / "students" / student.id
    if sdir.exists():
        shutil.rmtree(sdir)
    shutil.copytree(run.work / "template", sdir, ignore=shutil.ignore_patterns("ready.json", "*.log"))
    (sdir / "logs").mkdir()
    failure, notes = place_notebooks(a, student, sdir / "submitted" / student.id / a.name)
    scores: dict[str, float] = {}
    flags = None
    sandbox_label = iso.limits(slot) if iso.on else iso.problem
    if failure is None:
        with iso.slot(slot) as slot_env:
            attempt = autograde(run, student, sdir, slot_env, worker)
            failure, scores, notes = attempt.failure, attempt.scores, notes + attempt.notes
            if failure is None:
                flags = cross_check(run, student, sdir, scores, attempt.skipped, slot_env.settings, oracle)
    messages = read_messages(a, sdir / "autograded" / student.id / a.name, scores) if failure is None else {}
    result = Result(student.id, student.label, Status.GRADED if failure is None else Status.UNGRADED, scores,
                    ([failure] if failure else []) + list(student.notes) + notes, flags, iso.on, sandbox_label,
                    platform_id=student.platform_id, messages=messages)
    student_feedback(a, result, sdir)
    result.seconds = round(time.monotonic() - t0, 1)
    save_result(sdir, run.fingerprint, student.digest, result.to_row(a), [f"{nb}.html" for nb in a.notebooks],
                result.messages)
    return result
