"""Memory and process-count cgroups, one pair per worker slot, where the grader may create them.

The grader creates them below its own cgroup: on cgroup v1 wherever it may write there (root, or a
delegated hierarchy); on v2 where it may also switch the memory and pids controllers on for its
children, which v2 allows only while the grader's own cgroup holds no process (the root cgroup, as
in most containers run as root). The grader does not move itself to make that so. Elsewhere
:class:`Cgroups` says why not (``problem``) and the sandbox's rlimits are all there is (see
:func:`.settings.limits_label`).
"""

import contextlib
import os
import signal
import time
from pathlib import Path

BASE = Path("/sys/fs/cgroup")


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per controller ("unified" for v2)."""
    mine = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(","):
            mine[c or "unified"] = path
    return mine


def _limit_files(controller: str, mine: dict[str, str], memory_bytes: int, pids: int) -> tuple[Path, dict]:
    """(the parent folder, {limit file: value}) for ``controller``, v1 where mounted, else v2."""
    if controller in mine and (BASE / controller).is_dir():
        files = ({"memory.limit_in_bytes": memory_bytes, "memory.memsw.limit_in_bytes": memory_bytes}
                 if controller == "memory" else {"pids.max": pids})
        return BASE / controller / mine[controller].lstrip("/"), files
    if "unified" in mine and (BASE / "cgroup.controllers").is_file():
        parent = BASE / mine["unified"].lstrip("/")
        if controller not in (parent / "cgroup.subtree_control").read_text().split():
            (parent / "cgroup.subtree_control").write_text(f"+{controller}")  # OSError where not allowed
        files = {"memory.max": memory_bytes, "memory.swap.max": 0} if controller == "memory" else {"pids.max": pids}
        return parent, files
    raise OSError(f"no {controller} cgroup controller")


class Cgroups:
    """The slots' cgroups: ``procs[slot]`` lists the ``cgroup.procs`` files the launcher joins."""

    def __init__(self, tag: str, slots: int, memory_bytes: int, pids: int):
        self.dirs: list[Path] = []
        self.procs: dict[int, list[str]] = {slot: [] for slot in range(slots)}
        self.problem: str | None = None
        try:
            self._create(tag, slots, memory_bytes, pids)
        except OSError as exc:
            self.problem = f"no cgroups for this user here ({exc})"
            self.close()
            self.procs = {slot: [] for slot in range(slots)}

    def _create(self, tag: str, slots: int, memory_bytes: int, pids: int) -> None:
        mine = _own_cgroups()
        for controller in ("memory", "pids"):
            parent, files = _limit_files(controller, mine, memory_bytes, pids)
            remove_stale(parent)
            for slot in range(slots):
                folder = parent / f"autograder-{tag}-{slot}"
                folder.mkdir(exist_ok=True)
                self.dirs.append(folder)
                written = 0
                for name, value in files.items():
                    if (folder / name).exists():
                        (folder / name).write_text(str(value))
                        written += 1
                if not written:  # the controller is not enabled there: no limit would hold
                    raise OSError(f"{folder} has no {controller} limit files")
                self.procs[slot].append(str(folder / "cgroup.procs"))

    def close(self) -> None:
        for folder in reversed(self.dirs):
            remove(folder)
        self.dirs = []

    def __enter__(self) -> "Cgroups":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def kill_members(folder: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (folder / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def remove(folder: Path, tries: int = 50) -> None:
    """Kill the processes in cgroup ``folder``, then remove it (waiting while they die; gone already: done)."""
    kill_members(folder)
    for _ in range(tries):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.2)  # processes that are still being killed


def remove_stale(parent: Path) -> None:
    """Cgroups left by a grader that was killed (its pid is the first part of the tag): remove them."""
    for folder in parent.glob("autograder-*-*-*"):
        try:
            pid = int(folder.name.split("-")[1])
        except ValueError:
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        kill_members(folder)
        with contextlib.suppress(OSError):
            folder.rmdir()


def limit_events(cgroup_procs: list[str]) -> dict[str, int]:
    """How often each cgroup limit was hit: {"memory": processes killed, "pids": forks refused}."""
    found = {"memory": 0, "pids": 0}
    for procs in cgroup_procs:
        folder = Path(procs).parent
        for kind, name, field_name in (("memory", "memory.oom_control", "oom_kill"),  # v1
                                       ("memory", "memory.events", "oom_kill"),  # v2
                                       ("pids", "pids.events", "max")):
            try:
                text = (folder / name).read_text()
            except OSError:
                continue
            fields = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
            with contextlib.suppress(ValueError):
                found[kind] = max(found[kind], int(fields.get(field_name, 0)))
    return found
