"""A real Dask cluster on 127.0.0.1 for the tests: one ``dask scheduler`` and ``dask worker`` processes.

What an instructor starts by hand, started the same way (the venv's ``dask`` executable, a nanny
per worker, ``--resources grade=N``), with one difference that the issue asks for: each worker
runs in a private mount namespace in which the coordinator's folders (the test's temporary
folders, holding the submissions and ``--out``) are covered by an empty tmpfs, so a worker that
read or wrote them would fail instead of silently sharing a filesystem with the coordinator.
Each worker has its own empty working folder (its cwd and ``--local-directory``), outside them.

Each worker also runs in a PID namespace of its own (``unshare --pid --fork --kill-child``): when
the test kills it (``SIGKILL`` to its process group, a machine gone), the kernel kills everything
in that namespace, the notebook kernels it started in sessions of their own included. Nothing is
left over: :meth:`Cluster.close` kills and reaps every process and then checks that no process
carrying this cluster's token in its environment is still alive.

Needs root (the mounts) and util-linux's ``unshare``: :func:`problem` says why not, or None.
"""

import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cloudpickle

from autograder.grader.processes import tool_env
from autograder.sandbox import cgroups

VENV_BIN = Path(sys.executable).parent
DASK = VENV_BIN / "dask"
TOKEN_VAR = "AGR_DASK_TEST_TOKEN"  # marks every process of one cluster, to find leftovers

# The workers cannot import the tests' modules: the functions below travel by value (``Client.run``).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def problem() -> str | None:
    """Why a real cluster with hidden coordinator folders cannot be started here, or None."""
    if not sys.platform.startswith("linux"):
        return "private mount namespaces need Linux"
    if os.geteuid() != 0:
        return "hiding the coordinator's folders from the workers needs root (mount namespaces and tmpfs)"
    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    if not DASK.is_file():
        return f"no dask executable in the venv ({DASK}): install requirements.txt (distributed)"
    return None


def _kill_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGKILL the process group that ``proc`` leads, and reap ``proc``."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=timeout)


def _wait(what: str, check, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` (with the log's tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    state = f"exited with {proc.returncode}" if proc is not None and proc.poll() is not None else "timed out"
    raise RuntimeError(f"{what}: {state}\n{tail}")


@dataclass
class Worker:
    """One ``dask worker`` (nanny and worker process) in namespaces of its own."""
    name: str
    folder: Path  # its cwd and --local-directory
    proc: subprocess.Popen  # unshare, leading the process group
    log: Path
    address: str = ""  # tcp://127.0.0.1:PORT of the worker process, once it has registered

    def kill(self) -> None:
        """SIGKILL the whole worker (a machine gone): its process group, and so its PID namespace."""
        _kill_group(self.proc)


@dataclass
class Cluster:
    """A scheduler and its workers; the coordinator's folders ``hidden`` from every worker."""
    folder: Path  # the workers' folders and the logs live here, outside ``hidden``
    hidden: list[Path]
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    address: str = ""
    scheduler: subprocess.Popen | None = None
    workers: list[Worker] = field(default_factory=list)
    # The grader's cgroups present before the cluster started: those its workers add are removed at close.
    # A worker killed with SIGKILL (a lost machine) cannot remove its slots' cgroups, and the grader's own
    # clean-up of stale ones (sandbox/cgroups.remove_stale) goes by pid, which a worker's PID namespace hides.
    cgroups_before: set[str] = field(default_factory=lambda: set(grader_cgroups()))

    def _env(self, extra: dict | None = None) -> dict:
        env = dict(tool_env(), **{TOKEN_VAR: self.token})
        env.update(extra or {})
        return env

    def start_scheduler(self, timeout: float = 60) -> str:
        """``dask scheduler`` on 127.0.0.1, on a port of its choosing (read from its scheduler file)."""
        info = self.folder / "scheduler.json"
        log = self.folder / "scheduler.log"
        cmd = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info),
               "--no-dashboard", "--no-show"]
        with open(log, "wb") as out:
            self.scheduler = subprocess.Popen(cmd, cwd=self.folder, env=self._env(), stdout=out,
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                              start_new_session=True)

        def address():
            try:
                return json.loads(info.read_text()).get("address")
            except (OSError, ValueError):
                return None

        self.address = _wait("dask scheduler did not start", address, timeout, self.scheduler, log)
        return self.address

    def start_worker(self, name: str, slots: int = 1, nthreads: int = 2, env: dict | None = None) -> Worker:
        """``dask worker ADDRESS --nthreads N --resources grade=SLOTS`` in its own folder and namespaces.

        ``env``: extra environment for this worker only (e.g. a PYTHONPATH with another package).
        Returns at once; :meth:`wait_for_workers` waits until it has registered.
        """
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.folder))
        log = self.folder / f"{name}.log"
        covers = [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {shlex.quote(str(p))}" for p in self.hidden]
        worker = [str(DASK), "worker", self.address, "--name", name, "--nthreads", str(nthreads),
                  "--resources", f"grade={slots}", "--local-directory", str(folder), "--no-dashboard"]
        script = "\n".join(["set -e", *covers, f"cd {shlex.quote(str(folder))}", "exec " + shlex.join(worker)])
        cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
               "--mount-proc", "--", "sh", "-c", script]
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=folder, env=self._env(env), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        w = Worker(name=name, folder=folder, proc=proc, log=log)
        self.workers.append(w)
        return w

    def wait_for_workers(self, client, timeout: float = 120) -> None:
        """Wait until every live worker has registered with the scheduler; record its address."""
        def registered():
            for w in self.workers:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker {w.name} exited with {w.proc.returncode}:\n"
                                       f"{w.log.read_text(errors='replace')[-3000:]}")
            by_name = {info.get("name"): addr for addr, info in client.scheduler_info(n_workers=-1)["workers"].items()}
            if all(w.name in by_name for w in self.live()):
                for w in self.live():
                    w.address = by_name[w.name]
                return True
            return False

        _wait("dask workers did not register", registered, timeout)

    def live(self) -> list[Worker]:
        return [w for w in self.workers if w.proc.poll() is None]

    def stop_worker(self, worker: Worker, client=None, timeout: float = 60) -> None:
        """Kill ``worker`` and, given a client, wait until the scheduler has forgotten it."""
        worker.kill()
        if client is not None and worker.address:
            _wait(f"the scheduler still lists worker {worker.name}",
                  lambda: worker.address not in client.scheduler_info(n_workers=-1)["workers"], timeout)

    def leftovers(self) -> list[int]:
        """Live processes carrying this cluster's token in their environment (ours, not yet reaped)."""
        found = []
        marker = f"{TOKEN_VAR}={self.token}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        found.append(int(entry.name))
            except OSError:
                continue
        return found

    def close(self) -> None:
        """Kill and reap every process (workers first), then check that none is left over."""
        for w in self.workers:
            _kill_group(w.proc)
        if self.scheduler is not None:
            _kill_group(self.scheduler)
        try:
            _wait("processes of the test cluster are still alive after SIGKILL",
                  lambda: not self.leftovers(), 30)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: pids {self.leftovers()}") from None
        for path in sorted(set(grader_cgroups()) - self.cgroups_before, key=len, reverse=True):
            cgroups.remove(Path(path))


def grader_cgroups() -> list[str]:
    """The sandbox's slot cgroups on this machine (cgroup v1 and v2 layouts, as test_hostile looks for them)."""
    return [p for depth in range(4) for p in glob.glob("/sys/fs/cgroup/*/" + "*/" * depth + "autograder-*")
            + glob.glob("/sys/fs/cgroup/" + "*/" * depth + "autograder-*")]


# ---- run on a worker (``client.run(f, workers=[...])``): what it is doing, what it did

def executing(dask_worker) -> list[str]:
    """The keys of the tasks this worker is running now."""
    return [str(key) for key, ts in dask_worker.state.tasks.items() if ts.state in ("executing", "long-running")]


def graded_here(dask_worker) -> list[str]:
    """The keys of the grading tasks this worker finished (its transition log: executing -> memory)."""
    return sorted({str(e[0]) for e in dask_worker.state.log
                   if len(e) > 2 and str(e[0]).startswith("autograder-") and (e[1], e[2]) == ("executing", "memory")})
