"""How student code runs while it is graded: in the sandbox where it can be set up, else unsandboxed.

:class:`Isolation` decides once per run (the probe), writes the sandboxed kernelspec and creates
one memory and pids cgroup per worker slot; :meth:`Isolation.slot` gives what one student's
autograde needs in slot k (a uid of its own, ``UID_BASE + k``). See :mod:`autograder.sandbox`.
"""

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import data, sandbox
from ..errors import GraderError

MODES = ("auto", "require", "off")
PIDS_PER_SLOT = 1024  # processes and threads one submission's cgroup may hold


@dataclass(frozen=True)
class SlotEnv:
    """What one student's autograde needs in its worker slot."""
    env: dict[str, str]  # set in the worker for this job
    config: dict[str, str]  # nbgrader config lines for the student's course (sandboxed kernel, unix sockets)
    runtime: Path | None  # the kernel's runtime folder (None: unsandboxed)
    settings: sandbox.Settings | None  # the sandbox of this slot (None: unsandboxed)


class Isolation:
    """The sandbox of a grading run, as a context manager (its cgroups go on exit).

    ``mode`` is ``auto`` (sandbox if the probe passes, else grade unsandboxed with a loud
    warning), ``require`` (stop if it cannot be set up) or ``off``.
    """

    def __init__(self, mode: str, work: Path, slots: int, memory_mb: int, cell_timeout: int, wall_limit: float,
                 log: Callable[[str], object] = print) -> None:
        if mode not in MODES:
            raise GraderError(f"--sandbox must be auto, require or off, not {mode!r}")
        self.cell_timeout, self.wall_limit = cell_timeout, wall_limit
        self.memory_bytes = int(memory_mb) << 20
        self.cgroups: sandbox.Cgroups | None = None
        self.jupyter_dir = work / "jupyter"
        self.problem = "turned off (--sandbox off)" if mode == "off" else sandbox.probe(self.settings(0, None))
        if self.problem and mode == "require":
            raise GraderError(f"the sandbox cannot be used here: {self.problem}")
        if self.problem:
            log("WARNING: grading UNSANDBOXED: student code runs as this user, with access to everything it can "
                f"read, write and reach ({self.problem})")
            return
        sandbox.write_kernelspec(self.jupyter_dir)
        self.cgroups = sandbox.Cgroups(f"{os.getpid()}-{time.monotonic_ns() % 10**6}", slots, self.memory_bytes,
                                       pids=PIDS_PER_SLOT)
        no_cgroups = f" (no cgroups: {self.cgroups.problem})" if self.cgroups.problem else ""
        uids = f"uids {sandbox.UID_BASE}..{sandbox.UID_BASE + slots - 1}"
        if not sandbox.running_as_root():
            uids += " in user namespaces of their own (this user's uid outside)"
        log(f"sandbox on: student code runs as {uids}, no network, "
            f"no view of the course, gradebook or other submissions; {self.limits(0)}{no_cgroups}")

    def __enter__(self) -> "Isolation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.cgroups:
            self.cgroups.close()

    @property
    def on(self) -> bool:
        return self.problem is None

    def limits(self, slot: int) -> str:
        """Which limits hold in ``slot``, in words (the sandbox column says it)."""
        return sandbox.limits_label(self.settings(slot, None))

    def settings(self, slot: int, runtime: Path | None) -> sandbox.Settings:
        """The sandbox of ``slot``: its uid and cgroups, the data folder readable, ``runtime`` writable."""
        readonly = sandbox.default_readonly()
        env = {}
        data_dir = data.default_data_dir()
        if data_dir.is_dir():
            readonly.append(str(data_dir.resolve()))
            env[data.ENV_VAR] = str(data_dir.resolve())
        cgroups = self.cgroups.procs.get(slot, []) if self.cgroups else []
        return sandbox.Settings(uid=sandbox.UID_BASE + slot, readonly=readonly,
                                writable=[str(runtime)] if runtime else [], env=env, cgroups=cgroups,
                                memory_bytes=self.memory_bytes, cpu_seconds=int(2 * self.wall_limit),
                                cell_timeout=self.cell_timeout)

    @contextmanager
    def slot(self, slot: int) -> Iterator[SlotEnv]:
        """What a student's autograde needs in ``slot``; the kernel's runtime folder goes afterwards."""
        if not self.on:
            yield SlotEnv({}, {}, None, None)
            return
        runtime = Path(tempfile.mkdtemp(prefix="agk-"))  # short: a unix socket path has at most 107 bytes
        try:
            sandbox.hand_over(runtime, sandbox.UID_BASE + slot)
            settings = self.settings(slot, runtime)
            env = {"JUPYTER_PATH": str(self.jupyter_dir), "JUPYTER_RUNTIME_DIR": str(runtime),
                   sandbox.ENV_VAR: settings.to_env()}
            # The kernel has no network: it talks to nbgrader over unix sockets in the runtime folder.
            config = {"Execute.kernel_name": sandbox.KERNEL_NAME, "KernelManager.transport": "ipc",
                      "KernelManager.ip": f"{runtime}/k"}
            yield SlotEnv(env, config, runtime, settings)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
