"""The one way the grader starts and stops a helper process (nbgrader, a worker, a cross-check child).

Every helper runs in a session of its own, so that stopping it stops whatever it started (a
notebook's kernel spinning in a loop included), and dies with the thread that started it, so that
a grader killed with ``kill -9`` leaves nothing behind writing into a student's folder.
"""

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def die_with_parent() -> None:
    """Make the calling process get SIGKILL when the thread that started it ends, however it ends."""
    if _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def dies_with_parent():
    """A ``preexec_fn`` for ``subprocess.Popen``: the child dies with the thread that started it.

    Without it, a worker in a session of its own outlives a killed grading run and goes on writing
    into a student's folder while the resumed run grades that student again."""
    parent = os.getpid()

    def preexec():
        die_with_parent()
        if os.getppid() != parent:  # the parent was gone before the line above: follow it now
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def cpu_count() -> int:
    """CPU cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# One BLAS thread per process unless the instructor's environment says otherwise: the grader's
# parallelism is its slots (one per core by default), and OpenBLAS starting a thread per core in
# every kernel and cross-check process spends CPU the other slots need (importing numpy alone:
# 0.14 s of CPU with a thread per core, 0.08 s with one, on the 2-core CI machine).
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1"}


def with_one_blas_thread(env: dict) -> dict:
    """``env`` with :data:`ONE_BLAS_THREAD` where it sets nothing of its own."""
    for key, value in ONE_BLAS_THREAD.items():
        env.setdefault(key, value)
    return env


def tool_env() -> dict:
    """The environment for running the venv's tools (nbgrader, alembic, python -m autograder); the
    kernels nbgrader starts inherit it."""
    env = with_one_blas_thread(dict(os.environ))
    # nbgrader runs `alembic` by name when it creates a gradebook.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def spawn(cmd, **kwargs) -> subprocess.Popen:
    """Start ``cmd`` in a session of its own that dies with this thread."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=dies_with_parent(), **kwargs)


def kill_group(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and everything in its session's process group, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_tool(args, cwd, *, timeout=None, log_path=None, env=None):
    """Run ``python -m nbgrader ARGS`` in ``cwd``; return (its exit status, or None on timeout; its output).

    On a timeout, or when it is done, its whole process group goes (kernels it left running too).
    """
    with tempfile.TemporaryFile("w+") as out_file:
        proc = spawn([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env={**tool_env(), **(env or {})},
                     stdout=out_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            kill_group(proc)
        out_file.seek(0)
        out = out_file.read()
    if log_path:
        Path(log_path).write_text(f"$ nbgrader {' '.join(args)}\n{out}")
    return rc, out
