"""The autograde loop of one student: kernel starts retried, cells that kill the kernel skipped.

A cell that kills the kernel (``os._exit``, a memory bomb, a loop the sandbox stops because it
ignores interrupts) fails the whole notebook in nbgrader. The grader then runs it again without
that cell (it scores zero; :mod:`.progress` names it), so every other cell is still graded; at
most ``MAX_SKIPPED_CELLS`` cells. What the sandbox did is read from its events
(:mod:`autograder.sandbox.events`), never from free text.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from ..sandbox import events
from . import progress
from .assignment import TestCell
from .isolation import SlotEnv
from .submissions import Student
from .worker import NbWorker
from .workspace import write_nbgrader_config

if TYPE_CHECKING:
    from .run import GradingRun

# A kernel that dies before it answers its first message never ran a line of the student's code:
# usually two kernels started at once and took the same port (jupyter_client picks free ports by
# binding and releasing them). Such a start is retried; a kernel that dies later is the notebook's.
KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")
KERNEL_START_ATTEMPTS = 3
# What nbclient and nbgrader write when the kernel died while a cell ran.
KERNEL_DEATHS = ("DeadKernelError", "Kernel died", "kernel died")
# What an autograded cell's output holds when the cell was interrupted for running too long.
CELL_TIMEOUTS = ("CellTimeoutError", "Cell execution timed out", "KeyboardInterrupt")
MAX_SKIPPED_CELLS = 3


@dataclass(frozen=True)
class Limits:
    """The limits a notebook ran under, as the reasons name them."""
    cell_timeout: int  # seconds per cell
    wall_limit: float  # seconds for the whole notebook
    memory_mb: int


@dataclass
class Attempt:
    """What autograding one student came to."""
    failure: str | None  # why nothing could be graded; None: graded
    scores: dict[str, float]  # grade id -> points, as the gradebook has them
    skipped: list[str]  # cells run without (NOTEBOOK:INDEX)
    notes: list[str]  # what the student's row should say about it


def kernel_start_failed(log: str) -> bool:
    return any(sign in log for sign in KERNEL_START_FAILURES)


def kernel_died(log: str) -> bool:
    return any(sign in log for sign in KERNEL_DEATHS)


def why_stopped(rc: int | None, log: str, limits: Limits) -> str:
    """Why the cell to blame did not finish (``rc`` None: the worker was stopped at the wall limit)."""
    if rc is None:
        return f"the notebook was still running after {limits.wall_limit:.0f} s"
    seen = events.found(log)
    if events.IGNORED_INTERRUPT in seen:
        return f"it kept running after the {limits.cell_timeout} s cell timeout and ignored the interrupt"
    if events.MEMORY_LIMIT in seen:
        return f"it used more than the {limits.memory_mb} MB memory limit"
    if events.PROCESS_LIMIT in seen:
        return "the Python kernel died after it started more processes than the limit allows"
    return "the Python kernel died while running it (for example os._exit, a crash or running out of memory)"


def explain_failure(rc: int | None, log: str, limits: Limits) -> str:
    """Why nothing could be graded, from the worker's exit status and log."""
    if rc is None:
        return (f"grading was stopped after {limits.wall_limit:.0f} s (the notebook kept running); "
                "nothing could be graded")
    setup = [e for e in events.parse(log) if e["event"] == events.SETUP_FAILED]
    if setup:
        return f"the sandbox could not start the notebook's kernel ({str(setup[-1].get('detail', ''))[:300]}); " \
               "nothing could be graded"
    if kernel_died(log):
        return ("the Python kernel died while running the notebook (for example os._exit or running out of memory); "
                "nothing could be graded")
    errors = [line.strip() for line in log.splitlines() if "[ERROR]" in line or "Error:" in line]
    detail = errors[-1] if errors else (log.strip().splitlines() or ["no output"])[-1]
    return f"nbgrader could not autograde the notebook: {detail[-300:]}"


def read_scores(db_url: str, assignment: str, student_id: str, tests: list[TestCell]) -> dict[str, float]:
    """The automatic scores the gradebook has for this student (test cells without one are left out).

    One query on nbgrader's tables (its own ORM classes name them), rather than a ``Gradebook``,
    which inspects and creates the whole schema each time it is opened, and one ``find_grade`` per
    test cell: it matters once per student.
    """
    import sqlalchemy
    from nbgrader.api import Assignment, Grade, GradeCell, Notebook, SubmittedAssignment, SubmittedNotebook

    query = (sqlalchemy.select(GradeCell.name, Notebook.name, Grade.auto_score, Grade.needs_manual_grade)
             .select_from(Grade)
             .join(GradeCell, Grade.cell_id == GradeCell.id)
             .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
             .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
             .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
             .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
             .where(Assignment.name == assignment, SubmittedAssignment.student_id == student_id))
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            found = {(name, notebook): (auto, manual) for name, notebook, auto, manual in conn.execute(query)}
    except sqlalchemy.exc.OperationalError:  # no gradebook, or not nbgrader's: nothing was graded
        found = {}
    finally:
        engine.dispose()
    scores = {}
    for t in tests:
        auto, needs_manual = found.get((t.grade_id, t.notebook), (None, True))
        if auto is not None and not needs_manual:
            scores[t.grade_id] = float(auto)
    return scores


def find_timeouts(autograded_dir: Path) -> list[str]:
    """Cells that were interrupted for running too long (grade id, or cell id), from the autograded notebooks."""
    found = []
    for path in sorted(Path(autograded_dir).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook has no timeouts to report
            continue
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                text = json.dumps(output)
                if any(sign in text for sign in CELL_TIMEOUTS):
                    found.append(cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id", "?"))
                    break
    return found


def autograde(run: "GradingRun", student: Student, folder: Path, slot_env: SlotEnv, worker: NbWorker) -> Attempt:
    """Autograde ``student`` in their course ``folder``, again without any cell that killed the kernel."""
    a = run.assignment
    limits = Limits(run.cell_timeout, run.wall_limit, run.isolation.memory_bytes >> 20)
    notes: list[str] = []
    skip: list[tuple[str, str]] = []  # (NOTEBOOK:INDEX, why)
    start_failures, attempt = 0, 0
    while True:
        attempt += 1
        progress_file = folder / "logs" / f"progress-{attempt}.txt"
        write_nbgrader_config(folder, run.cell_timeout, skip,
                              {**slot_env.config, "BoundedExecute.progress_file": str(progress_file)}, run.db_url)
        rc, log = worker.run(folder, a.name, student.id, slot_env.env, folder / "logs" / f"autograde-{attempt}.log",
                             run.wall_limit)
        ran = progress.read(progress_file)
        if rc != 0 and not ran.started and kernel_start_failed(log) and start_failures < KERNEL_START_ATTEMPTS - 1:
            start_failures += 1
            continue
        skipped = [key for key, _ in skip]
        scores = read_scores(run.db_url or f"sqlite:///{folder / 'gradebook.db'}", a.name, student.id, a.tests)
        if rc == 0 and len(scores) == len(a.tests):
            notes += [f"cell {gid!r} was stopped after {run.cell_timeout} s"
                      for gid in find_timeouts(folder / "autograded" / student.id / a.name)]
            return Attempt(None, scores, skipped, notes)
        culprit = ran.culprit()
        stopped = rc is None or kernel_died(log)
        if culprit and stopped and culprit not in skipped and len(skip) < MAX_SKIPPED_CELLS:
            why = why_stopped(rc, log, limits)
            skip.append((culprit, why))
            notes.append(f"{ran.label(culprit)} was not graded: {why}; the notebook was graded again without it")
            continue
        return Attempt(explain_failure(rc, log, limits), {}, skipped, notes)
