"""What a sandbox is made of: the settings the grader writes and the launcher reads, and their labels."""

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import SandboxError

ENV_VAR = "AUTOGRADER_SANDBOX"  # the settings, as JSON, for `python -m autograder.sandbox`
KERNEL_NAME = "rnn-course-sandbox"
UID_BASE = 61000  # worker slot k runs as uid/gid UID_BASE + k (a uid of its own as root, a mapped one as a user)


@dataclass
class Settings:
    uid: int = UID_BASE
    readonly: list[str] = field(default_factory=list)  # host folders visible, read-only, at the same path
    writable: list[str] = field(default_factory=list)  # host folders bound read-write (kernel sockets, results)
    env: dict[str, str] = field(default_factory=dict)  # set in the sandboxed process
    cgroups: list[str] = field(default_factory=list)  # cgroup.procs files the launcher joins
    memory_bytes: int = 4 << 30  # RLIMIT_AS when no memory cgroup holds
    nproc: int = 512  # processes and threads inside the sandbox (RLIMIT_NPROC)
    cpu_seconds: int = 3600
    file_bytes: int = 256 << 20
    scratch_bytes: int = 512 << 20  # the working folder's, /tmp's and /dev/shm's tmpfs
    nofile: int = 1024
    cell_timeout: float = 0  # > 0: stop the sandbox after two interrupts within 1.5 of these
    copy_skip: list[str] = field(default_factory=lambda: [".ipynb"])  # not copied into the working folder

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        raw = (os.environ if environ is None else environ).get(ENV_VAR)
        if not raw:
            raise SandboxError(f"{ENV_VAR} is not set")
        return cls(**json.loads(raw))


def running_as_root() -> bool:
    """Whether the sandbox can run as root does: switch to the slots' own uids, with no user namespace.

    Root in a rootless container (a user namespace mapping only a few uids) cannot: it sandboxes
    like an ordinary user."""
    if os.geteuid() != 0:
        return False
    try:
        return slots_mapped(Path("/proc/self/uid_map").read_text())
    except OSError:
        return True


def slots_mapped(uid_map: str) -> bool:
    """Whether a ``/proc/self/uid_map`` maps the slots' uids (UID_BASE and the 999 after it)."""
    ranges = [line.split() for line in uid_map.splitlines() if line.strip()]
    return any(int(inside) <= UID_BASE and UID_BASE + 1000 <= int(inside) + int(count) for inside, _, count in ranges)


def default_readonly() -> list[str]:
    """Host folders the sandbox needs: the system, Python, the venv, the course package, and every
    site-packages folder on the import path (a venv may add another's through a ``.pth`` file)."""
    package_src = Path(__file__).resolve().parents[2]
    site = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, str(package_src), *site]
    return sorted({str(Path(p).resolve()) for p in paths if p and Path(p).is_dir()})


def hand_over(path, uid: int) -> None:
    """Make ``path`` writable by the sandboxed process of ``uid``.

    As root the sandbox runs as ``uid`` itself, so the folder is given to it. As an ordinary user
    the sandbox's uid is this user's, mapped, and the folder is already its own."""
    if running_as_root():
        os.chown(path, uid, uid)


def held_cgroup_limits(settings: Settings) -> dict[str, str]:
    """The cgroup limits that hold for ``settings``: {"memory" or "pids": the limit as the cgroup reads it}."""
    held = {}
    for procs in settings.cgroups:
        folder = Path(procs).parent
        for controller, name in (("memory", "memory.max"), ("memory", "memory.limit_in_bytes"), ("pids", "pids.max")):
            try:
                held[controller] = (folder / name).read_text().strip()
            except OSError:
                continue
    return held


def limits_label(settings: Settings) -> str:
    """Who launches the sandbox and which limits hold, in words (the ``sandbox`` column of grades.csv)."""
    who = "root" if running_as_root() else "user"
    held = held_cgroup_limits(settings)
    memory_mb = settings.memory_bytes >> 20
    memory = (f"cgroup memory {int(held['memory']) >> 20} MB" if "memory" in held
              else f"rlimit memory {memory_mb} MB per process")
    processes = f"rlimit {settings.nproc} processes" + (f", cgroup {held['pids']} processes" if "pids" in held else "")
    return f"{who}; {memory}; {processes}"
