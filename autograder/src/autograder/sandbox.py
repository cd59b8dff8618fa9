"""Run student code in a sandbox: its own namespaces, a filesystem of its own, another user, limits.

Used by ``python -m autograder grade``: the grading kernel (a kernelspec whose argv is
``python -m autograder.sandbox kernel {connection_file}``) and the cross-check runner start
their process through :func:`launch`. Plain Linux and root are all it needs (no Docker, no
setuid helper): the launcher, started by jupyter_client or by the grader as root,

1. leaves the host's mount, PID, network, IPC and UTS namespaces (``unshare(2)``): no network
   but a loopback that is down, no view of the host's processes;
2. builds a new root on a tmpfs: the system (``/usr``, ``/etc``), Python, the venv, the course
   package and the data folder bound read-only, a fresh ``/proc``, a minimal ``/dev``, an empty
   ``/tmp``, and the working folder as a size-limited tmpfs holding a copy of the files it had
   (so a file written "next to the notebook" goes nowhere). The course checkout
   (``solutions/``), the gradebook, other students' folders and the instructor's home are not
   in it;
3. puts the process into per-slot memory and pids cgroups where the machine allows it, sets
   rlimits (processes, CPU seconds, file size, open files, no core files; address space when
   there is no memory cgroup), drops to an unprivileged uid of its own (``setgroups([])``,
   ``no_new_privs``) and runs the command there, under a small init (PID 1 of the namespace)
   that reaps orphans; when that init dies, the kernel stops every process left in the
   namespace, so a fork bomb or a daemonised child never outlives its grading.

The launcher outside stays root and watches: it dies with its parent (nbgrader), and it kills
the sandbox when the kernel ignores interrupts (two interrupts within 1.5 cell timeouts of each
other: a cell that ignored SIGINT), so a SIGINT-proof loop costs two cell timeouts, not a night.

Settings come from the environment variable ``AUTOGRADER_SANDBOX`` (JSON, written by the
grader, see :class:`Settings`). :func:`probe` checks, on this machine, that all of it works and
that the sandbox really cannot see or reach what it must not; the grader runs unsandboxed, and
says so loudly, when it does not.
"""

import ctypes
import ctypes.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV_VAR = "AUTOGRADER_SANDBOX"
KERNEL_NAME = "rnn-course-sandbox"
UID_BASE = 61000  # slot k runs as uid/gid UID_BASE + k: a process limit per slot, not shared

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine (the message says why)."""


@dataclass
class Settings:
    uid: int = UID_BASE
    readonly: list = field(default_factory=list)  # host folders visible, read-only, at the same path
    writable: list = field(default_factory=list)  # host folders bound read-write (kernel sockets)
    env: dict = field(default_factory=dict)  # set in the sandboxed process
    cgroups: list = field(default_factory=list)  # cgroup.procs files to join
    memory_bytes: int = 4 << 30  # RLIMIT_AS when no memory cgroup is joined
    nproc: int = 512  # processes and threads of the slot's uid
    cpu_seconds: int = 3600
    file_bytes: int = 256 << 20
    scratch_bytes: int = 512 << 20  # the working folder's and /tmp's tmpfs
    nofile: int = 1024
    cell_timeout: float = 0  # > 0: kill after two interrupts within 1.5 of these
    copy_skip: list = field(default_factory=lambda: [".ipynb"])  # not copied into the working folder
    root_parent: str = ""  # where the launcher makes the new root's (empty) mount point

    def to_env(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ=None):
        raw = (environ or os.environ).get(ENV_VAR)
        if not raw:
            raise SandboxError(f"{ENV_VAR} is not set")
        return cls(**json.loads(raw))


def default_readonly():
    """Host folders the sandbox needs: the system, Python, the venv, the course package."""
    here = Path(__file__).resolve().parent
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, str(here.parent)]
    return sorted({p for p in paths if p and Path(p).exists()})


# --------------------------------------------------------------------------- system calls


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(src, dst, fstype, flags, data=None):
    _check(_libc.mount(None if src is None else str(src).encode(), str(dst).encode(),
                       None if fstype is None else fstype.encode(), ctypes.c_ulong(flags),
                       None if data is None else data.encode()), f"mount {src} on {dst}")


def _prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def dies_with_parent():
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets SIGKILL when the thread that started
    it ends, however it ends (``kill -9`` of the grader included). Without it, a worker in a session
    of its own outlives a killed grading run and goes on writing into a student's folder while the
    resumed run grades that student again."""
    parent = os.getpid()

    def preexec():
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # gone before the line above: follow it now
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _bind(src, dst, readonly):
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.touch()
    _mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        _mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


# --------------------------------------------------------------------------- the launcher


def launch(argv, settings: Settings, cwd=None):
    """Run ``argv`` in the sandbox and return its exit status (this process stays outside, as root).

    Called in a process of its own (the kernel launcher, or ``python -m autograder.sandbox run``).
    """
    cwd = Path(cwd or os.getcwd()).resolve()
    if os.geteuid() != 0:
        raise SandboxError("the sandbox needs root (it creates namespaces and changes user)")
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # nbgrader or the grader gone: so are we
    newroot = Path(tempfile.mkdtemp(prefix="agr-root-", dir=settings.root_parent or None))
    ready_r, ready_w = os.pipe()
    try:
        _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host
    except SandboxError:
        os.rmdir(newroot)
        raise
    pid = os.fork()
    if pid == 0:  # PID 1 of the new namespace
        os.close(ready_w)
        status = 70
        try:
            status = _init(argv, settings, cwd, newroot, ready_r)
        except BaseException as exc:  # noqa: BLE001 - report, then leave with a distinct status
            print(f"autograder.sandbox: could not start the sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(status)
    os.close(ready_r)
    for procs in settings.cgroups:
        try:
            Path(procs).write_text(str(pid))
        except OSError as exc:
            print(f"autograder.sandbox: could not join {procs}: {exc}", file=sys.stderr, flush=True)
    events = _limit_events(settings.cgroups)
    os.write(ready_w, b"go")
    os.close(ready_w)

    interrupts = []

    def on_interrupt(signum, frame):
        # jupyter_client signals the whole process group: the kernel gets this SIGINT too.
        now = time.monotonic()
        interrupts.append(now)
        window = 1.5 * settings.cell_timeout
        if settings.cell_timeout > 0 and len(interrupts) >= 2 and now - interrupts[-2] < window:
            print("autograder.sandbox: the kernel ignored an interrupt; stopping it", file=sys.stderr, flush=True)
            _kill(pid)

    def on_term(signum, frame):
        _kill(pid)

    def on_cell_done(signum, frame):  # from BoundedExecute: pass it on to PID 1 inside
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.signal(signal.SIGUSR1, on_cell_done)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
    after = _limit_events(settings.cgroups)
    if after["memory"] > events["memory"]:
        print(f"autograder.sandbox: the memory limit ({settings.memory_bytes >> 20} MB) was reached",
              file=sys.stderr, flush=True)
    if after["pids"] > events["pids"]:
        print("autograder.sandbox: the process limit was reached", file=sys.stderr, flush=True)
    try:
        os.rmdir(newroot)
    except OSError:
        pass
    return os.waitstatus_to_exitcode(status) if status else 0


def _limit_events(cgroup_procs):
    """How often each cgroup limit was hit: {"memory": processes killed, "pids": forks refused}."""
    found = {"memory": 0, "pids": 0}
    for procs in cgroup_procs:
        d = Path(procs).parent
        for kind, name, field_name in (("memory", "memory.oom_control", "oom_kill"),  # v1
                                       ("memory", "memory.events", "oom_kill"),  # v2
                                       ("pids", "pids.events", "max")):
            try:
                text = (d / name).read_text()
            except OSError:
                continue
            fields = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
            try:
                found[kind] = max(found[kind], int(fields.get(field_name, 0)))
            except ValueError:
                pass
    return found


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)  # PID 1 of the namespace: everything in it goes
    except ProcessLookupError:
        pass


def _init(argv, s: Settings, cwd: Path, newroot: Path, ready_r):
    """PID 1: build the root, drop privileges, run ``argv`` as its child, reap, return its status."""
    if os.read(ready_r, 2) != b"go":
        return 71
    os.close(ready_r)
    _unshare(CLONE_NEWNS)  # mounts of our own: the launcher's namespace stays clean (it removes newroot)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    uid = gid = int(s.uid)
    _mount("tmpfs", newroot, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    (newroot / "tmp").mkdir(exist_ok=True)
    _mount("tmpfs", newroot / "tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={s.scratch_bytes},mode=1777")
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / top
        if host.is_symlink():
            (newroot / top).symlink_to(os.readlink(host))
    for path in s.readonly:
        if Path(path).exists():
            _bind(path, f"{newroot}{path}", readonly=True)
    for path in s.writable:
        _bind(path, f"{newroot}{path}", readonly=False)
    (newroot / "proc").mkdir()
    _mount("proc", newroot / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = newroot / "dev"
    dev.mkdir()
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in ("null", "zero", "full", "random", "urandom"):
        _bind(f"/dev/{name}", dev / name, readonly=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        (dev / name).symlink_to(target)
    (dev / "shm").mkdir()
    _mount("tmpfs", dev / "shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={s.scratch_bytes},mode=1777")
    work = Path(f"{newroot}{cwd}")
    work.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={s.scratch_bytes},mode=0700,uid={uid},gid={gid}")
    _copy_tree(cwd, work, s.copy_skip, uid, gid)
    for arg in list(argv):  # a connection file: the user we become must be able to read it
        if arg.startswith("--sandbox-copy="):
            src = Path(arg.split("=", 1)[1])
            shutil.copyfile(src, work / src.name)
            os.chown(work / src.name, uid, gid)
            os.chmod(work / src.name, 0o600)
            argv[argv.index(arg)] = str(cwd / src.name)
    os.chdir(newroot)
    os.chroot(".")
    os.chdir(cwd)
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    try:
        _libc.sethostname(b"sandbox", 7)
    except Exception:  # noqa: BLE001
        pass
    limits = {
        resource.RLIMIT_NPROC: s.nproc, resource.RLIMIT_CPU: s.cpu_seconds,
        resource.RLIMIT_FSIZE: s.file_bytes, resource.RLIMIT_NOFILE: s.nofile, resource.RLIMIT_CORE: 0,
    }
    if not any("memory" in c for c in s.cgroups):
        limits[resource.RLIMIT_AS] = s.memory_bytes
    for which, value in limits.items():
        hard = value + 5 if which == resource.RLIMIT_CPU else value  # SIGXCPU first, then SIGKILL
        resource.setrlimit(which, (value, hard))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # cleared by setuid: set it again
    # JPY_PARENT_PID: ipykernel would watch a parent it cannot see from here (PDEATHSIG does that job).
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "JPY_PARENT_PID")}
    env.update({"HOME": str(cwd), "TMPDIR": "/tmp", "USER": "student", "LOGNAME": "student",
                "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(s.env)
    child = os.fork()
    if child == 0:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execve(argv[0], argv, env)
        except OSError as exc:
            print(f"autograder.sandbox: cannot run {argv[0]}: {exc}", file=sys.stderr, flush=True)
        os._exit(127)

    def forward(signum, frame):
        if signum != signal.SIGINT:  # SIGINT reaches the child through the process group
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    def kill_strays(signum, frame):
        # A cell is done: whatever processes it left behind (a fork bomb, a daemon) go now.
        for _ in range(5):
            strays = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, child)]
            for stray in strays:
                try:
                    os.kill(stray, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if not strays:
                break

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    signal.signal(signal.SIGUSR1, kill_strays)
    while True:  # reap orphans until the command itself is gone
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) & 0xFF if status else 0


def _copy_tree(src: Path, dst: Path, skip, uid, gid):
    for entry in sorted(src.iterdir()) if src.is_dir() else []:
        if entry.is_symlink() or any(entry.name.endswith(s) for s in skip) or entry.name == ".ipynb_checkpoints":
            continue
        target = dst / entry.name
        if entry.is_dir():
            target.mkdir()
            _copy_tree(entry, target, skip, uid, gid)
        elif entry.is_file():
            shutil.copyfile(entry, target)
        else:
            continue
        os.chown(target, uid, gid)


# --------------------------------------------------------------------------- cgroups


class Cgroups:
    """Memory and pids cgroups, one per worker slot, below this process's own (v1 or v2)."""

    def __init__(self, tag, slots, memory_bytes, pids):
        self.dirs, self.procs, self.problem = [], {}, None
        for slot in range(slots):
            self.procs[slot] = []
        try:
            self._create(tag, slots, memory_bytes, pids)
        except OSError as exc:
            self.problem = f"cgroups unavailable ({exc}); memory bounded by RLIMIT_AS instead"
            self.close()
            for slot in range(slots):
                self.procs[slot] = []

    def _create(self, tag, slots, memory_bytes, pids):
        mine = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            num, controllers, path = line.split(":", 2)
            for c in controllers.split(","):
                mine[c or "unified"] = path
        base = Path("/sys/fs/cgroup")
        for controller, limit_files in (("memory", {"memory.limit_in_bytes": memory_bytes,
                                                     "memory.memsw.limit_in_bytes": memory_bytes}),
                                        ("pids", {"pids.max": pids})):
            if controller in mine and (base / controller).is_dir():  # cgroup v1
                parent = base / controller / mine[controller].lstrip("/")
                files = limit_files
            elif "unified" in mine and (base / "cgroup.controllers").is_file():  # cgroup v2
                parent = base / mine["unified"].lstrip("/")
                files = {"memory.max": memory_bytes, "memory.swap.max": 0} if controller == "memory" else {"pids.max": pids}
            else:
                raise OSError(f"no {controller} cgroup")
            _remove_stale(parent)
            for slot in range(slots):
                d = parent / f"autograder-{tag}-{slot}"
                d.mkdir(exist_ok=True)
                self.dirs.append(d)
                for name, value in files.items():
                    if (d / name).exists():
                        (d / name).write_text(str(value))
                self.procs[slot].append(str(d / "cgroup.procs"))

    def close(self):
        for d in reversed(self.dirs):
            _kill_members(d)
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.2)  # processes that are still being killed
        self.dirs = []


def _kill_members(d):
    try:
        for pid in Path(d, "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    except OSError:
        pass


def _remove_stale(parent):
    """Cgroups left by a grader that was killed (its pid is the first part of the tag): remove them."""
    for d in parent.glob("autograder-*-*-*"):
        try:
            pid = int(d.name.split("-")[1])
        except ValueError:
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        _kill_members(d)
        try:
            d.rmdir()
        except OSError:
            pass


# --------------------------------------------------------------------------- kernelspec, probe


def write_kernelspec(jupyter_dir: Path):
    """A kernelspec that runs ipykernel in the sandbox; use it with ``JUPYTER_PATH=jupyter_dir``."""
    spec = jupyter_dir / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        # -I: the launcher runs as root in the notebook's folder, whose files must not shadow a module
        "argv": [sys.executable, "-I", "-m", "autograder.sandbox", "kernel", "{connection_file}"],
        "display_name": "Python 3 (sandboxed grading)",
        "language": "python",
        "interrupt_mode": "signal",
    }, indent=1))
    return KERNEL_NAME


PROBE_SCRIPT = r"""
import json, os, socket, sys
secret, outside = sys.argv[1], sys.argv[2]
found = {"uid": os.getuid(), "pid": os.getpid()}
try:
    open(secret).read(); found["read_secret"] = True
except OSError:
    found["read_secret"] = False
try:
    open(os.path.join(outside, "written"), "w").write("x"); found["wrote_outside"] = True
except OSError:
    found["wrote_outside"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); found["network"] = True
except OSError:
    found["network"] = False
open("next_to_me.txt", "w").write("scratch")
found["scratch_ok"] = open("next_to_me.txt").read() == "scratch"
import numpy
found["numpy"] = numpy.__version__
print("PROBE " + json.dumps(found))
"""


def probe(settings: Settings, timeout=60):
    """Check on this machine that the sandbox works and isolates; return None, or why it does not."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "not running as root (the sandbox creates namespaces and changes user)"
    with tempfile.TemporaryDirectory(prefix="agr-probe-") as tmp:
        tmp = Path(tmp)
        secret = tmp / "secret.txt"
        secret.write_text("hidden")
        work = tmp / "work"
        work.mkdir()
        env = dict(os.environ, **{ENV_VAR: settings.to_env()})
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox", "run", "--", sys.executable, "-c", PROBE_SCRIPT,
               str(secret), str(tmp)]
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"the sandbox probe did not finish in {timeout} s"
        lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
        if proc.returncode != 0 or not lines:
            detail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            return f"the sandbox could not be set up: {detail[-300:]}"
        found = json.loads(lines[-1][6:])
        problems = [what for what, bad in (("it could read a file outside it", found["read_secret"]),
                                           ("it could write outside its scratch folder", found["wrote_outside"]),
                                           ("it could reach the network", found["network"]),
                                           ("it still ran as root", found["uid"] == 0),
                                           ("it could not write its scratch folder", not found["scratch_ok"]))
                    if bad]
        if (work / "next_to_me.txt").exists():
            problems.append("its scratch files reached the host folder")
        if problems:
            return "the sandbox is not tight: " + "; ".join(problems)
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("kernel", "run"):
        print("usage: python -m autograder.sandbox kernel CONNECTION_FILE [ARGS...] | run -- CMD...",
              file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if argv[0] == "kernel":
        conn, extra = argv[1], argv[2:]
        cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", f"--sandbox-copy={conn}", *extra]
        # ipykernel_launcher takes "-f PATH": the copy's path is substituted in by _init.
    else:
        cmd = argv[2:] if argv[1:2] == ["--"] else argv[1:]
    try:
        return launch(cmd, settings)
    except SandboxError as exc:
        print(f"autograder.sandbox: {exc}", file=sys.stderr, flush=True)
        return 70


if __name__ == "__main__":
    sys.exit(main())
