"""The task a worker runs for one student: a free slot, the submission written, ``grade_student``, bytes back.

Runs in one of Dask's task threads; the grading itself runs in the slot's own thread (see
:mod:`.plugin`), so that the slot's nbgrader worker process outlives any one task. Every failure
of the grader itself comes back as a :class:`GraderError` that names the student and the worker;
Dask does not retry a task that raised (only one whose worker was lost), so it ends the run once.
"""

import shutil
import traceback

from distributed import get_worker

from ...errors import GraderError
from ..run import GradingRun
from ..student import grade_student
from .plugin import GraderPlugin, Grading
from .protocol import GradedStudent, StudentTask

TRACEBACK_CHARS = 2000  # of an unexpected exception's traceback, in the coordinator's message


def grade_task(task: StudentTask, plugin_name: str) -> GradedStudent:
    """Grade ``task``'s student on this worker with the grading plugin ``plugin_name``."""
    worker = get_worker()
    plugin: GraderPlugin | None = worker.plugins.get(plugin_name)
    if plugin is None:
        raise GraderError(f"worker {worker.address} has no grading plugin {plugin_name} for student {task.student}")
    if plugin.problem or plugin.grading is None:
        raise GraderError(f"worker {worker.address} refused student {task.student}: {plugin.problem}")
    if task.fingerprint != plugin.settings.fingerprint:
        raise GraderError(f"student {task.student}'s task has fingerprint {task.fingerprint[:12]}, worker "
                          f"{worker.address} grades {plugin.settings.fingerprint[:12]}")
    g = plugin.grading
    slot = g.slots.get()
    try:
        return g.threads[slot].submit(grade_in_slot, plugin, g, task, slot).result()
    except GraderError as exc:
        raise GraderError(f"grading student {task.student} on worker {worker.address}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the grader's own bug: named, with its traceback, not retried
        tb = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
        raise GraderError(f"grading student {task.student} on worker {worker.address} failed: "
                          f"{type(exc).__name__}: {exc}\n{tb}") from None
    finally:
        g.slots.put(slot)


def grade_in_slot(plugin: GraderPlugin, g: Grading, task: StudentTask, slot: int) -> GradedStudent:
    """In slot ``slot``'s thread: grade the student as a local run does, read the result back, clean up."""
    s = plugin.settings
    run = GradingRun(g.assignment, g.work, s.cell_timeout, s.wall_limit, s.fingerprint, task.nonce, None, g.isolation)
    incoming = g.incoming / f"{task.student}-{slot}"
    sdir = g.work / "students" / task.student
    try:
        student = task.write_files(incoming)
        result = grade_student(run, student, slot, g.nb_workers[slot], g.oracles[slot])
        return GradedStudent.from_folder(g.assignment, result, sdir, plugin.address)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
        shutil.rmtree(sdir, ignore_errors=True)
