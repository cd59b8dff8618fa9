"""The coordinator of a cluster run: connect, check the workers, grade the students there, write their results.

:class:`Coordinator` is a context manager around a ``distributed.Client``: on entry it waits for a
worker, registers the run's :class:`.plugin.GraderPlugin` (every worker, also one that joins later,
sets itself up) and refuses to go on if any worker differs from this grader (its message names
the worker and what differs). :meth:`Coordinator.grade` submits one task per student with
``resources={"grade": 1}`` (so a worker never grades more students at once than it has slots) and a
key per student, submission and fingerprint, and writes each result as it comes back into
``out/course/students/<id>/`` exactly as a local run leaves it, so the rest of ``grade()``
(feedback, ``grades.csv``, summary) does not know where a student was graded. A future resolves
once: a task Dask re-runs after losing its worker still gives one result, written once. On exit
the plugin is unregistered (the workers stop their nbgrader processes and sandbox) and the client
closed.
"""

from collections.abc import Callable
from pathlib import Path

from ...errors import GraderError
from ..assignment import Assignment
from ..results import Result
from ..submissions import Student
from .identity import worker_identity
from .plugin import RESOURCE, ClusterSettings, GraderPlugin, WorkerStatus, pack_assignment, plugin_status
from .protocol import StudentTask
from .remote import grade_task

CONNECT_TIMEOUT = 30  # seconds to reach the scheduler
WORKER_WAIT = 120  # seconds to wait for the first worker
MAX_LISTED = 10  # failed students named in the final message

Log = Callable[[str], object]


def _distributed():
    try:
        import distributed
    except ImportError:
        raise GraderError("grading on a Dask cluster (--scheduler) needs the distributed package: "
                          "pip install -r requirements.txt (or pip install 'autograder[cluster]')") from None
    return distributed


class Coordinator:
    """This grader connected to a Dask scheduler whose workers are set up to grade ``settings``' run."""

    def __init__(self, address: str, a: Assignment, settings: ClusterSettings, nonce: str,
                 course_config: Path | None, work: Path, log: Log = print) -> None:
        self.address, self.a, self.settings, self.nonce, self.log = address, a, settings, nonce, log
        self.name = f"autograder-{settings.fingerprint[:12]}-{nonce[:8]}"
        self.plugin = GraderPlugin(self.name, pack_assignment(a, course_config, work), settings, worker_identity())
        self.client = None
        self.statuses: dict[str, WorkerStatus] = {}

    def __enter__(self) -> "Coordinator":
        distributed = _distributed()
        try:
            self.client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise GraderError(f"cannot reach the Dask scheduler at {self.address}: {type(exc).__name__}: {exc}") \
                from None
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            raise GraderError(f"no worker joined the Dask scheduler at {self.address} within {WORKER_WAIT} s: start "
                              f"workers with `dask worker {self.address} --nthreads N --resources {RESOURCE}=N`") \
                from None
        self.log(f"cluster {self.address}: setting up {len(self.client.scheduler_info()['workers'])} worker(s) "
                 f"(the template, the sandbox, the nbgrader processes)")
        self.client.register_plugin(self.plugin, name=self.name)
        self.statuses = self.client.run(plugin_status, self.name)
        self.check(self.statuses.values())

    def check(self, statuses) -> None:  # noqa: ANN001 - an iterable of WorkerStatus
        """Log each worker's slots and sandbox; stop where a worker is refused, or where no worker has a slot."""
        refused = []
        for st in sorted(statuses, key=lambda s: s.address):
            if st.slots < 1:
                self.log(f"  worker {st.address}: no {RESOURCE!r} resource, it grades nothing")
            elif st.problem:
                refused.append(st.problem)
            else:
                for line in st.log:
                    self.log(f"  worker {st.address}: {line}")
                self.log(f"  worker {st.address}: {st.slots} slot(s), sandbox "
                         + (f"on ({st.sandbox})" if st.sandboxed else f"OFF: {st.sandbox}"))
        if refused:
            raise GraderError("; ".join(refused))
        if not any(st.slots >= 1 for st in statuses):
            raise GraderError(f"no worker of {self.address} has a {RESOURCE!r} resource: start workers with "
                              f"`dask worker {self.address} --nthreads N --resources {RESOURCE}=N`")

    @property
    def slots(self) -> int:
        return sum(st.slots for st in self.statuses.values() if not st.problem)

    @property
    def sandboxed(self) -> bool:
        """Whether every worker that grades does so in the sandbox (as ``Isolation.on`` for a local run)."""
        return all(st.sandboxed for st in self.statuses.values() if st.slots >= 1)

    def grade(self, work: Path, todo: list[Student]) -> dict[str, Result]:
        """Grade ``todo`` on the workers; write each result into ``work/students/<id>``; return them by id.

        Every result that comes back is saved, also when another student failed; then a GraderError
        names each student the grader could not grade (a re-run grades only them)."""
        distributed = _distributed()
        s = self.settings
        futures = {}
        for st in todo:
            task = StudentTask.from_student(st, s.fingerprint, self.nonce)
            futures[self.client.submit(grade_task, task, self.name, key=task.key, resources={RESOURCE: 1},
                                       retries=0)] = st
        results: dict[str, Result] = {}
        failures: list[str] = []
        try:
            for future in distributed.as_completed(list(futures), loop=self.client.loop):
                st = futures[future]
                try:
                    graded = future.result()
                except GraderError as exc:
                    failures.append(str(exc))
                    continue
                except distributed.KilledWorker as exc:
                    failures.append(f"student {st.id}: every worker that graded it died ({exc})")
                    continue
                except Exception as exc:  # noqa: BLE001 - anything else a task raised, named by student
                    failures.append(f"grading student {st.id}: {type(exc).__name__}: {exc}")
                    continue
                finally:
                    future.release()
                if graded.student != st.id:
                    failures.append(f"student {st.id}: a worker answered for {graded.student}")
                    continue
                graded.save(work / "students" / st.id, s.fingerprint, st.digest)
                result = graded.result(self.a)
                results[st.id] = result
                self.log(f"  {st.id:<24} {result.score:>5g} / {self.a.max_score:g}  {result.status}"
                         + (f"  ({result.reason})" if result.reason else "") + f"  [{graded.worker}]")
        finally:
            self.client.cancel([f for f in futures if not f.done()])
        if failures:
            raise GraderError(f"{len(failures)} of {len(todo)} student(s) could not be graded on the cluster (the "
                              f"{len(results)} others are saved; a new run grades only what is missing):\n"
                              + "\n".join(failures[:MAX_LISTED]) + ("\n..." if len(failures) > MAX_LISTED else ""))
        return results

    def close(self) -> None:
        """Unregister the plugin (workers stop what they started for this run) and close the client."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.unregister_worker_plugin(self.name)
        except Exception:  # noqa: BLE001, S110 - a worker gone or never set up: nothing of ours runs there
            pass
        client.close()
