"""A throw-away PostgreSQL server (Debian's postgresql), for the tests and the grading benchmark.

``temporary_server()`` yields a ``postgresql+psycopg://`` URL of a fresh database on a unix
socket, and stops and removes the server afterwards. Where PostgreSQL is not installed it
installs Debian's ``postgresql`` package when running as root with apt-get; otherwise it raises
``Unavailable`` saying why.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class Unavailable(RuntimeError):
    pass


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _install():
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("PostgreSQL is not installed and this user cannot install it (needs root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise Unavailable(f"installing Debian's postgresql failed: {(proc.stderr or proc.stdout)[-500:]}")


@contextlib.contextmanager
def temporary_server(port=54329):
    if _bindir() is None:
        _install()
    bindir = _bindir()
    if bindir is None:
        raise Unavailable("PostgreSQL's initdb not found after installing it")
    tmp = Path(tempfile.mkdtemp(prefix="rnn-course-pg-"))  # pytest's own tmp is private to root
    data, sock = tmp / "data", tmp / "sock"
    data.mkdir()
    sock.mkdir()
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd

        pw = pwd.getpwnam("postgres")
        for path in (tmp, data, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"]

    def pg(*cmd):
        proc = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stdout[-1000:]} {proc.stderr[-1000:]}")

    try:
        pg(f"{bindir}/initdb", "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8")
        pg(f"{bindir}/pg_ctl", "-D", str(data), "-l", str(tmp / "server.log"), "-w", "-o",
           f"-c listen_addresses='' -k {sock} -p {port}", "start")
        pg(f"{bindir}/createdb", "-h", str(sock), "-p", str(port), "-U", "grader", "course")
        yield f"postgresql+psycopg://grader@/course?host={sock}&port={port}"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120, cwd=tmp)
        shutil.rmtree(tmp, ignore_errors=True)
