"""``grade()``: autograde a class of submissions with nbgrader, robustly, in parallel, resumably.

The assignment is prepared once as a private nbgrader course under ``out/course/template``
(:mod:`.workspace`); every student is graded in a copy of it of their own (own gradebook:
a crash, a hang or a corrupt file costs that student only), by one of ``workers`` long-lived
nbgrader worker processes (:mod:`.worker`), each with a sandbox slot of its own (:mod:`.isolation`).
Each student's result is saved with hashes of the submission and of everything that can change a
grade, so a second run re-uses what has not changed and a killed run resumes. The run ends with
feedback pages without hidden tests and ``grades.csv`` (one row per student, with the reason
wherever grading was not complete), ``summary.csv`` and ``summary.md``.
"""

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..crosscheck.oracle import SolutionOracle
from ..errors import GraderError
from .assignment import Assignment, checkout, load_assignment
from .feedback import collect_feedback, mathjax_js
from .intake import Intake, discover
from .isolation import Isolation
from .nbconfig import CELL_TIMEOUT
from .processes import cpu_count
from .results import Result, write_grades, write_summary
from .student import grade_student
from .submissions import Student
from .worker import NbWorker
from .workspace import check_db_url, load_messages, load_result, lock, prepare_template

WALL_MARGIN = 120  # seconds a notebook may run beyond a cell timeout per cell (kernel start, nbgrader)

Log = Callable[[str], object]


@dataclass(frozen=True)
class GradingRun:
    """What every student of one run is graded with."""
    assignment: Assignment
    work: Path  # out/course
    cell_timeout: int
    wall_limit: float  # seconds for one student's whole notebook
    fingerprint: str  # of the assignment, the settings and the grading code
    nonce: str  # the cross-check's inputs differ on every run
    db_url: str | None  # a shared gradebook; None: one SQLite gradebook per student
    isolation: Isolation


def grade(assignment: str, submissions: Path, out: Path, *, cell_timeout: int = CELL_TIMEOUT,
          root: Path | None = None, log: Log = print, workers: int | None = None, force: bool = False,
          sandbox_mode: str = "auto", memory_mb: int = 4096, db_url: str | None = None,
          scheduler: str | None = None) -> list[Result]:
    """Grade every submission; return the results (also written to ``out``).

    ``workers`` students are graded at a time (default: the number of cores). A student's result
    is kept in ``out/course/students/<id>/result.json`` with a hash of the submission and the
    run's fingerprint: grading the same input again re-uses it (``force`` re-grades), a late
    submission is graded alone, and a run that was killed half-way resumes where it stopped.
    ``scheduler`` (a Dask scheduler's address, ``tcp://HOST:8786``): the students are graded on that
    cluster's workers (:mod:`.cluster`; ``workers`` is then the cluster's ``grade`` slots) and
    everything else stays here.
    """
    t_start = time.monotonic()
    if int(cell_timeout) < 1:
        raise GraderError(f"the cell timeout must be at least 1 s, not {cell_timeout}")
    if scheduler and db_url:
        raise GraderError("--db-url cannot be used with --scheduler: on a cluster this grader is the only writer, "
                          "and each student's SQLite gradebook comes back from the worker that graded them")
    a = load_assignment(assignment, checkout(root))
    mathjax_js()  # feedback pages inline MathJax: where it is missing, say so now, not after the first student
    if db_url:
        check_db_url(db_url)
    out = Path(out).resolve()
    with lock(out):  # one run at a time into one folder
        intake = discover(submissions, out, a.name)
        log_intake(intake, log)
        students = intake.students
        if not students:  # discover says what it saw; this is the last word: never a run that graded nobody
            raise GraderError(f"no student found in {submissions}")
        work = out / "course"
        fingerprint = prepare_template(a, work, cell_timeout, db_url)
        wall_limit = a.n_cells * cell_timeout + WALL_MARGIN
        if scheduler:
            results, todo = grade_on_cluster(scheduler, a, work, fingerprint, students, force, cell_timeout,
                                             wall_limit, sandbox_mode, memory_mb, log)
        else:
            workers = max(1, int(workers or cpu_count()))
            with Isolation(sandbox_mode, work, workers, memory_mb, cell_timeout, wall_limit, log) as iso:
                run = GradingRun(a, work, cell_timeout, wall_limit, fingerprint, os.urandom(8).hex(), db_url, iso)
                results, todo = kept_results(run, students, force)
                log(f"grading {a.name}: {len(students)} submission(s), {len(todo)} to grade, {len(results)} "
                    f"unchanged since the last run; {len(a.tests)} test cells, {a.max_score:g} points, cell timeout "
                    f"{cell_timeout} s, {min(workers, max(1, len(todo)))} worker(s)")
                results.update(grade_all(run, todo, workers, log))
        ordered = [results[st.id] for st in students]
        collect_feedback(a, students, work, out)
        write_grades(a, ordered, out)
        write_summary(a, ordered, out, intake)
    unsandboxed = sum(1 for r in ordered if not r.sandboxed)
    if unsandboxed:
        log(f"WARNING: {unsandboxed} submission(s) were graded UNSANDBOXED (see the sandbox column of grades.csv)")
    log(f"graded {len(ordered)} submission(s) ({len(todo)} graded now, {len(students) - len(todo)} kept) in "
        f"{time.monotonic() - t_start:.1f} s; results in {out}")
    return ordered


def log_intake(intake: Intake, log: Log) -> None:
    """What intake found: the layout, the students, and what it left out (grouped by why)."""
    with_nb = sum(1 for st in intake.students if st.files)
    log(f"intake: {intake.description}; {len(intake.students)} student(s), {with_nb} with a notebook, "
        f"{len(intake.skipped)} file(s) skipped")
    whys: dict[str, list[str]] = {}
    for sk in intake.skipped:
        whys.setdefault(sk.why, []).append(sk.path)
    for why, paths in sorted(whys.items()):
        log(f"  skipped {len(paths)} ({why}): {', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''}")


def kept_results(run: GradingRun, students: list[Student], force: bool) -> tuple[dict[str, Result], list[Student]]:
    """(the saved results still valid, by student id; the students to grade now)."""
    return keep_results(run.assignment, run.work, run.fingerprint, run.isolation.on, students, force)


def keep_results(a: Assignment, work: Path, fingerprint: str, sandboxed: bool, students: list[Student],
                 force: bool) -> tuple[dict[str, Result], list[Student]]:
    """:func:`kept_results` for a run graded with ``fingerprint`` in ``work``, in the sandbox if ``sandboxed``."""
    kept, todo = {}, []
    for st in students:
        row = None if force else load_result(work / "students" / st.id, fingerprint, st.digest)
        previous = None if row is None else Result.from_row(row, a)
        if previous is not None and sandboxed and not previous.sandboxed:
            previous = None  # graded unsandboxed before: grade it in the sandbox now
        if previous is None:
            todo.append(st)
        else:
            previous.messages = load_messages(work / "students" / st.id)
            kept[st.id] = previous
    return kept, todo


def grade_on_cluster(scheduler: str, a: Assignment, work: Path, fingerprint: str, students: list[Student],
                     force: bool, cell_timeout: int, wall_limit: float, sandbox_mode: str, memory_mb: int,
                     log: Log) -> tuple[dict[str, Result], list[Student]]:
    """The kept results and the students graded on the Dask cluster at ``scheduler`` (:mod:`.cluster`), as
    ``grade`` has them locally: (every result by student id, the students graded now)."""
    from .. import course_root
    from .cluster import Coordinator
    from .cluster.plugin import ClusterSettings

    root = course_root()
    settings = ClusterSettings(a.name, int(cell_timeout), sandbox_mode, int(memory_mb), wall_limit, fingerprint)
    with Coordinator(scheduler, a, settings, os.urandom(8).hex(), root / "nbgrader_config.py" if root else None,
                     work, log) as cluster:
        results, todo = keep_results(a, work, fingerprint, cluster.sandboxed, students, force)
        log(f"grading {a.name}: {len(students)} submission(s), {len(todo)} to grade, {len(results)} unchanged "
            f"since the last run; {len(a.tests)} test cells, {a.max_score:g} points, cell timeout {cell_timeout} s, "
            f"{cluster.slots} slot(s) on the cluster {scheduler}")
        results.update(cluster.grade(work, todo))
    return results, todo


def grade_all(run: GradingRun, todo: list[Student], workers: int, log: Log) -> dict[str, Result]:
    """Grade ``todo`` on ``workers`` threads, each student in a free slot with that slot's nbgrader process
    and solution oracle."""
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)
    nb_workers = {slot: NbWorker() for slot in range(workers)}
    oracles = {slot: SolutionOracle() for slot in range(workers)}
    results: dict[str, Result] = {}
    log_lock = threading.Lock()

    def one(st: Student) -> None:
        slot = slots.get()
        try:
            result = grade_student(run, st, slot, nb_workers[slot], oracles[slot])
        finally:
            slots.put(slot)
        with log_lock:
            results[st.id] = result
            log(f"  {st.id:<24} {result.score:>5g} / {run.assignment.max_score:g}  {result.status}"
                + (f"  ({result.reason})" if result.reason else ""))

    try:
        if todo:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(one, st) for st in todo]:
                    future.result()
    finally:
        for w in nb_workers.values():
            w.stop()
        for o in oracles.values():
            o.stop()
    return results
