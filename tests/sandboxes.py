"""The two ways the grader sandboxes student code, for the tests: as root, and as an ordinary user.

``mode_problem(mode)`` says why a mode cannot be tested here (None: it can). Where the sandbox must
work (root on Linux with user namespaces enabled, as on CI), a mode that cannot be set up fails the
test instead of skipping it: see :func:`need`.

As root, the "user" mode runs the grader as an unprivileged account that the tests create
(``agr-instructor``), with the course's own venv. Where that venv's Python (or the checkout) lives
below a folder closed to other users (here a pyenv Python under /root, mode 700), the account runs
in a private mount namespace in which that folder is open and holds only those (``_open_script``).
Debian's python3.11 with the course's site-packages is no way round it: with its 3.11.2, the pinned
soupsieve fails to parse nbconvert's CSS selectors (seen: ``img:not([alt])``), so some feedback
pages fail. As an ordinary user, "user" mode is this user, and "root"
is skipped.
"""

import atexit
import functools
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import conftest
from autograder import sandbox
from autograder.grader.processes import tool_env

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "agr-instructor"
MODES = ("root", "user")


def must_work() -> bool:
    """Root on Linux with user namespaces enabled: both modes can be set up, so they must be."""
    try:
        userns = int(Path("/proc/sys/user/max_user_namespaces").read_text()) > 0
    except (OSError, ValueError):
        userns = False
    return sys.platform.startswith("linux") and os.geteuid() == 0 and userns


def _closed_folder(path: Path) -> Path | None:
    """The highest folder above ``path`` that other users cannot pass through (mode without o+x), or None."""
    for parent in reversed(path.parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


@functools.lru_cache(maxsize=None)
def account() -> tuple[pwd.struct_passwd, Path]:
    """(the test instructor's account, its home); created once (needs root)."""
    try:
        entry = pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ACCOUNT], check=True)
        entry = pwd.getpwnam(ACCOUNT)
    home = Path(tempfile.mkdtemp(prefix="agr-instructor-"))
    atexit.register(shutil.rmtree, home, True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return entry, home


def _open_script(paths: list[Path]) -> str | None:
    """A shell script that, run as root in a private mount namespace, opens ``paths`` to other users.

    The course venv's Python, or the checkout itself, may live below a folder closed to other users
    (a pyenv Python under /root, mode 700). There, that folder becomes an open tmpfs holding just
    the paths the account needs, bound back in: what an instructor with a Python of their own has.
    None where every path is open already.
    """
    closed: dict[Path, list[Path]] = {}
    for path in paths:
        folder = _closed_folder(path)
        if folder is not None:
            closed.setdefault(folder, []).append(path)
    if not closed:
        return None
    lines = ["set -e"]
    for folder, inside in closed.items():
        for k, path in enumerate(inside):
            lines += [f"hold{k}=$(mktemp -d)", f"mount --bind {shlex.quote(str(path))} \"$hold{k}\""]
        lines.append(f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(str(folder))}")
        for k, path in enumerate(inside):
            lines += [f"mkdir -p {shlex.quote(str(path))}", f"mount --bind \"$hold{k}\" {shlex.quote(str(path))}"]
    return "\n".join(lines + ['exec "$@"', ""])


def as_account(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` (the course venv's python first) as the test instructor account."""
    entry, home = account()
    env = dict(tool_env(), HOME=str(home), USER=ACCOUNT, LOGNAME=ACCOUNT)
    env.pop("JUPYTER_RUNTIME_DIR", None)
    cmd = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--", *cmd]
    script = _open_script([Path(sys.base_prefix).resolve(), ROOT])
    if script is not None:
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *cmd]
    return subprocess.run(cmd, env=env, **kwargs)


def give(path: Path) -> None:
    """Let the test instructor account own ``path`` (a class folder, an --out folder) and reach it."""
    entry = account()[0]
    path.mkdir(parents=True, exist_ok=True)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    for parent in path.parents:  # pytest's folders are 0700: let the account through
        if parent == Path(tempfile.gettempdir()):
            break
        parent.chmod(parent.stat().st_mode | 0o011)


PROBE = ("from autograder import sandbox; "
         "print(sandbox.probe(sandbox.Settings(readonly=sandbox.default_readonly())) or 'OK')")


@functools.lru_cache(maxsize=None)
def mode_problem(mode: str) -> str | None:
    """Why ``mode`` ("root" or "user") cannot be tested here, or None."""
    if mode == "root":
        if os.geteuid() != 0:
            return "not running as root"
        return sandbox.probe(sandbox.Settings(readonly=sandbox.default_readonly()))
    if os.geteuid() != 0:
        return sandbox.probe(sandbox.Settings(readonly=sandbox.default_readonly()))
    if any(shutil.which(tool) is None for tool in ("setpriv", "useradd", "unshare")):
        return "setpriv, useradd and unshare (util-linux, passwd) are needed to test grading as an ordinary user"
    try:
        home = account()[1]
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        return str(exc)
    proc = as_account([sys.executable, "-c", PROBE], cwd=home, capture_output=True, text=True, timeout=120)
    text = proc.stdout.strip() or proc.stderr.strip()[-500:]
    return None if proc.returncode == 0 and text.endswith("OK") else text


def need(mode: str) -> None:
    """Skip (or, where the sandbox must work, fail) a test of ``mode`` that cannot run here."""
    problem = mode_problem(mode)
    if problem is None:
        return
    if must_work():
        pytest.fail(f"the {mode} sandbox must work on this machine (root, user namespaces on), but: {problem}")
    pytest.skip(f"the {mode} sandbox cannot be set up here: {problem}")


def run_cli(mode: str, *args, timeout: int = 1800) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` as an instructor would: as this user ("root"), or as the account."""
    if mode == "user" and os.geteuid() == 0:
        cmd = [sys.executable, "-m", "autograder", *map(str, args)]
        return as_account(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return conftest.run_cli(*args, timeout=timeout)


def uids(mode: str) -> range:
    """The host uids that sandboxed processes of ``mode`` run as."""
    if mode == "user" and os.geteuid() == 0:
        uid = account()[0].pw_uid
        return range(uid, uid + 1)
    if mode == "user":
        return range(os.getuid(), os.getuid() + 1)
    return range(sandbox.UID_BASE, sandbox.UID_BASE + 1000)
