"""The worker side of a cluster run: a ``distributed.WorkerPlugin`` that sets a worker up to grade.

:class:`GraderPlugin` carries the assignment as bytes (a tar of ``solutions/A`` and the course's
``nbgrader_config.py`` and the prepared template: :func:`pack_assignment`), the run's settings and the coordinator's
:class:`.identity.Identity`. On each worker, once per worker process (:meth:`GraderPlugin.setup`):

- compare the worker's identity with the coordinator's; refuse on a difference;
- unpack the assignment and the coordinator's prepared nbgrader template under the worker's local
  directory (:func:`..workspace.install_template`: no ``generate_assignment`` on the worker, which
  cost seconds of every run); the fingerprint of the worker's own code and settings must be the
  coordinator's, else refuse (the backstop of the identity check);
- open the run's :class:`..isolation.Isolation` (same sandbox mode, memory and cell timeout as a
  local run) with as many slots as the worker's ``grade`` resource, and per slot one nbgrader worker
  process (:class:`..worker.NbWorker`) and one solution oracle (:class:`...crosscheck.oracle.SolutionOracle`)
  owned by one long-lived thread: a helper process dies with the thread that started it
  (:mod:`..processes`), and Dask's task threads are not ours to keep.

A refused worker keeps running but grades nobody: :mod:`.remote` raises its ``problem``, and the
coordinator reads it through :func:`plugin_status` before it submits anything.
:meth:`GraderPlugin.teardown` (the plugin unregistered, or the worker closing) stops it all.
"""

import asyncio
import io
import queue
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from distributed import WorkerPlugin

from ...crosscheck.oracle import SolutionOracle
from ...errors import AutograderError
from ..assignment import Assignment, load_assignment
from ..isolation import Isolation
from ..worker import NbWorker
from ..workspace import install_template, template_files
from .identity import Identity, mismatch, worker_identity

RESOURCE = "grade"  # the worker resource that counts its grading slots (dask worker --resources grade=N)
CONFIG_NAME = "nbgrader_config.py"
TEMPLATE = "template"  # the prepared template's folder in the bundle


@dataclass(frozen=True)
class ClusterSettings:
    """The run's grading settings, the same on every worker as in a local run."""
    assignment: str
    cell_timeout: int
    sandbox_mode: str
    memory_mb: int
    wall_limit: float
    fingerprint: str  # the coordinator's: the worker's template must have the same


@dataclass(frozen=True)
class WorkerStatus:
    """What a worker's plugin reports to the coordinator."""
    address: str
    slots: int
    problem: str | None  # why this worker refuses to grade; None: ready
    sandboxed: bool
    sandbox: str  # the limits in words, or why there is no sandbox
    log: tuple[str, ...]  # what setting up said (the sandbox's warning, ...)


def pack_assignment(a: Assignment, course_config: Path | None, work: Path) -> bytes:
    """A tar of ``solutions/<A>/``, the course's ``nbgrader_config.py`` (what the fingerprint hashes) and
    the template prepared in ``work`` (:func:`..workspace.template_files`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(a.source.rglob("*")):
            if path.is_file() and not {".ipynb_checkpoints", "__pycache__"} & set(path.parts):
                tar.add(path, arcname=f"solutions/{a.name}/{path.relative_to(a.source)}", recursive=False)
        if course_config is not None and course_config.is_file():
            tar.add(course_config, arcname=CONFIG_NAME, recursive=False)
        for path in template_files(work):
            tar.add(path, arcname=f"{TEMPLATE}/{path.relative_to(work / 'template')}", recursive=False)
    return buf.getvalue()


def unpack_assignment(data: bytes, root: Path) -> None:
    """Unpack :func:`pack_assignment`'s tar into ``root`` (regular files only, nothing outside it)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(root, filter="data")


@dataclass
class Grading:
    """What one worker process grades with, made once by :meth:`GraderPlugin.setup`."""
    assignment: Assignment
    work: Path  # the worker's course folder (template, students)
    incoming: Path  # the submissions' files while they are graded
    isolation: Isolation
    slots: "queue.Queue[int]" = field(default_factory=queue.Queue)
    nb_workers: dict[int, NbWorker] = field(default_factory=dict)
    oracles: dict[int, SolutionOracle] = field(default_factory=dict)
    threads: dict[int, ThreadPoolExecutor] = field(default_factory=dict)


class GraderPlugin(WorkerPlugin):
    """Sets a worker up to grade one assignment with one run's settings (see the module's docstring)."""

    def __init__(self, name: str, bundle: bytes, settings: ClusterSettings, identity: Identity) -> None:
        self.name = name
        self.bundle = bundle
        self.settings = settings
        self.identity = identity
        self.address = ""
        self.slots = 0
        self.problem: str | None = "not set up yet"
        self.log: list[str] = []
        self.grading: Grading | None = None

    async def setup(self, worker) -> None:  # noqa: ANN001 - distributed.Worker
        self.address = worker.address
        self.slots = int(worker.state.total_resources.get(RESOURCE, 0))
        # unpacking and the sandbox's probe take a while: not on the worker's event loop
        await asyncio.to_thread(self._setup, Path(worker.local_directory))

    def _setup(self, local_dir: Path) -> None:
        s = self.settings
        if self.slots < 1:  # it is never given a task: the coordinator leaves it out
            self.problem = (f"worker {self.address} has no {RESOURCE!r} resource: start it with "
                            f"--resources {RESOURCE}=N (N students graded at once)")
            return
        self.problem = mismatch(self.address, self.identity, worker_identity())
        if self.problem:
            return
        root = local_dir / "autograder" / s.fingerprint[:16]
        try:
            unpack_assignment(self.bundle, root / "checkout")
            a = load_assignment(s.assignment, root / "checkout")
            work = root / "course"
            fp = install_template(a, root / "checkout" / TEMPLATE, work, s.cell_timeout,
                                  course_config=root / "checkout" / CONFIG_NAME)
            if fp != s.fingerprint:
                self.problem = (f"worker {self.address} grades {a.name} with grading fingerprint {fp[:12]}, not "
                                f"this grader's {s.fingerprint[:12]}: its package, nbgrader configuration or "
                                "installed distributions differ")
                return
            iso = Isolation(s.sandbox_mode, work, self.slots, s.memory_mb, s.cell_timeout, s.wall_limit, self.log.append)
        except AutograderError as exc:
            self.problem = f"worker {self.address} cannot grade: {exc}"
            return
        grading = Grading(a, work, root / "incoming", iso)
        for slot in range(self.slots):
            grading.slots.put(slot)
            grading.nb_workers[slot] = NbWorker()
            grading.oracles[slot] = SolutionOracle()
            grading.threads[slot] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"autograder-slot-{slot}")
        self.grading, self.problem = grading, None

    def teardown(self, worker) -> None:  # noqa: ANN001 - distributed.Worker
        g, self.grading = self.grading, None
        if g is None:
            return
        try:
            for slot, pool in g.threads.items():
                try:
                    for helper in (g.nb_workers.get(slot), g.oracles.get(slot)):
                        if helper is not None:
                            pool.submit(helper.stop).result()
                finally:
                    pool.shutdown(wait=True)
        finally:  # whatever failed above, the sandbox's cgroups and runtime folders go
            g.isolation.close()

    def status(self) -> WorkerStatus:
        iso = self.grading.isolation if self.grading else None
        return WorkerStatus(self.address, self.slots, self.problem, bool(iso and iso.on),
                            (iso.limits(0) if iso.on else str(iso.problem)) if iso else "", tuple(self.log))


def plugin_status(name: str, dask_worker=None) -> WorkerStatus:  # noqa: ANN001 - distributed.Worker
    """Run on every worker by the coordinator (``Client.run``): the status of plugin ``name`` there."""
    plugin = dask_worker.plugins.get(name)
    if plugin is None:
        return WorkerStatus(dask_worker.address, 0, f"worker {dask_worker.address} has no grading plugin {name}",
                            False, "", ())
    return plugin.status()
