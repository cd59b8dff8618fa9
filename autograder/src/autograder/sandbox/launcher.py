"""Run one command in the sandbox and watch it from outside: the launcher.

``launch`` is what ``python -m autograder.sandbox kernel|run`` does. It joins the slot's cgroups,
starts bubblewrap (see :mod:`.bwrap`) in a process group of its own, and stays outside to

- pass interrupts on to the command, and stop the whole sandbox when the command ignores them
  (two interrupts within 1.5 cell timeouts of each other: a cell that ignored SIGINT), so a
  SIGINT-proof loop costs two cell timeouts, not a night;
- kill whatever a finished cell left running inside (SIGUSR1, sent by the grader's BoundedExecute);
- stop the sandbox on SIGTERM/SIGHUP, and die with its own parent (bubblewrap then takes the
  sandbox along: ``--die-with-parent``);
- report, as :mod:`.events`, which cgroup limits were hit.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..grader.processes import die_with_parent
from . import bwrap, events
from .cgroups import limit_events
from .settings import ENV_VAR, Settings


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (a snapshot)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _inner_pid(pid: int) -> int | None:
    """A process's pid in the innermost PID namespace it is in (from the NSpid line of its status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def sandbox_processes(bwrap_pid: int) -> tuple[int | None, list[int]]:
    """(the command, every other process) inside the sandbox that bubblewrap ``bwrap_pid`` started.

    Bubblewrap's PID 1 of the namespace (its reaper) is counted as neither; the command is PID 2.
    """
    tree = _children()
    inside, todo = [], list(tree.get(bwrap_pid, []))
    while todo:
        pid = todo.pop()
        inside.append(pid)
        todo += tree.get(pid, [])
    command = next((p for p in inside if _inner_pid(p) == 2), None)
    return command, [p for p in inside if p != command and _inner_pid(p) != 1]


def _signal(pid: int | None, sig: int) -> None:
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _child_env(settings: Settings, cwd: Path) -> dict[str, str]:
    # JPY_PARENT_PID: ipykernel would watch a parent it cannot see from inside (bubblewrap's
    # --die-with-parent does that job).
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "JPY_PARENT_PID", bwrap.BWRAP_VAR)}
    env.update({"HOME": str(cwd), "TMPDIR": "/tmp", "USER": "student", "LOGNAME": "student",
                "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(settings.env)
    return env


def launch(command: list[str], settings: Settings, cwd=None, copies: dict[str, Path] | None = None) -> int:
    """Run ``command`` in the sandbox; return its exit status (this process stays outside)."""
    cwd = Path(cwd or os.getcwd()).resolve()
    die_with_parent()  # nbgrader or the grader gone: so are we, and bubblewrap with us
    for procs in settings.cgroups:  # joined before bubblewrap starts: everything it starts is inside
        try:
            Path(procs).write_text(str(os.getpid()))
        except OSError as exc:
            print(f"autograder.sandbox: could not join {procs}: {exc}", file=sys.stderr, flush=True)
    before = limit_events(settings.cgroups)
    plan = bwrap.plan(settings, cwd, command, copies)
    try:
        # A process group of its own: the interrupts jupyter_client sends to ours reach the command
        # through us (counted), not bubblewrap itself (which would die of one).
        proc = subprocess.Popen(plan.argv, env=_child_env(settings, cwd), pass_fds=plan.fds, process_group=0,
                                stdin=subprocess.DEVNULL if sys.stdin is None else None)
    finally:
        plan.close()
    status = _watch(proc, settings)
    after = limit_events(settings.cgroups)
    if after["memory"] > before["memory"]:
        events.emit(events.MEMORY_LIMIT, megabytes=settings.memory_bytes >> 20)
    if after["pids"] > before["pids"]:
        events.emit(events.PROCESS_LIMIT)
    return status


def _watch(proc: subprocess.Popen, settings: Settings) -> int:
    """Handle signals for the sandbox of ``proc`` (bubblewrap) until it ends; return its status."""
    interrupts: list[float] = []

    def on_interrupt(signum, frame):
        now = time.monotonic()
        interrupts.append(now)
        window = 1.5 * settings.cell_timeout
        if settings.cell_timeout > 0 and len(interrupts) >= 2 and now - interrupts[-2] < window:
            events.emit(events.IGNORED_INTERRUPT, cell_timeout=settings.cell_timeout)
            proc.kill()  # bubblewrap: its sandbox dies with it
            return
        _signal(sandbox_processes(proc.pid)[0], signal.SIGINT)

    def on_stop(signum, frame):
        proc.kill()

    def on_cell_done(signum, frame):  # a cell is done: whatever processes it left behind go now
        for _ in range(5):
            _, strays = sandbox_processes(proc.pid)
            for pid in strays:
                _signal(pid, signal.SIGKILL)
            if not strays:
                break

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_stop)
    signal.signal(signal.SIGUSR1, on_cell_done)
    while True:
        try:
            status = proc.wait()
            break
        except InterruptedError:
            continue
    return status if status >= 0 else 128 - status
