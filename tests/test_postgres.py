"""`grade --db-url` with a real PostgreSQL server that the test starts (Debian's postgresql).

Where the server is not installed, the test installs Debian's `postgresql` package when it runs
as root with apt-get; it skips, saying why, only where that is impossible.
"""

import csv
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import submissions as subs
from conftest import run_cli

A, NB = "01_rnn_forward", "rnn_forward"
MAX = 11.0


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _install_postgresql():
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "PostgreSQL is not installed and this user cannot install it (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            return f"installing Debian's postgresql failed: {(proc.stderr or proc.stdout)[-500:]}"
    return None


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    if _pg_bin() is None:
        problem = _install_postgresql()
        if problem or _pg_bin() is None:
            pytest.skip(problem or "PostgreSQL's initdb not found after installing it")
    bindir = _pg_bin()
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
    port = "54329"

    def pg(*cmd):
        proc = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, cwd=tmp)
        assert proc.returncode == 0, f"{cmd[0]} failed: {proc.stdout[-1000:]} {proc.stderr[-1000:]}"

    pg(f"{bindir}/initdb", "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8")
    pg(f"{bindir}/pg_ctl", "-D", str(data), "-l", str(tmp / "server.log"), "-w", "-o",
       f"-c listen_addresses='' -k {sock} -p {port}", "start")
    try:
        pg(f"{bindir}/createdb", "-h", str(sock), "-p", port, "-U", "grader", "course")
        yield f"postgresql+psycopg://grader@/course?host={sock}&port={port}"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120, cwd=tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_class_graded_into_postgresql(postgres, tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(A, NB), folder / "ada" / f"{NB}.ipynb")
    subs.write(subs.correct_submission(A, NB, {"output_forward": [("h @ Why + by", "h @ Why")]}),
               folder / "cyd" / f"{NB}.ipynb")
    subs.raw((subs.ROOT / "exercises" / A / f"{NB}.ipynb").read_text(), folder / "ben" / f"{NB}.ipynb")
    proc = run_cli("grade", A, folder, "--out", out, "--timeout", 30, "--workers", 2, "--db-url", postgres)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        rows = {r["student"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"ada": MAX, "ben": 0.0, "cyd": MAX - 1}

    # The shared gradebook holds the same grades, for every grader or machine that opens it.
    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        assert {s.id for s in gb.students} == {"ada", "ben", "cyd"}
        assert {sid: gb.find_submission(A, sid).score for sid in ("ada", "ben", "cyd")} == rows


def test_a_bad_db_url_is_a_clear_error(tmp_path):
    (tmp_path / "ada").mkdir()
    proc = run_cli("grade", A, tmp_path, "--out", tmp_path / "out", "--db-url", "mysql://nope")
    assert proc.returncode == 2 and "--db-url must be" in proc.stderr
    proc = run_cli("grade", A, tmp_path, "--out", tmp_path / "out",
                   "--db-url", "postgresql+psycopg://grader@/course?host=/nonexistent&port=1")
    assert proc.returncode == 2 and "cannot open the gradebook" in proc.stderr
