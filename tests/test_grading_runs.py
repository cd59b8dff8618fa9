"""Grading a class again, late submissions, --force, a killed run resumed, parallel workers.

Chapter 1's correct, blank and one known-wrong submission, graded through the real CLI.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import submissions as subs
from conftest import ROOT, run_cli
from autograder.grader.processes import tool_env

pytestmark = [pytest.mark.slow]

A, NB = "01_rnn_forward", "rnn_forward"
MAX = 11.0


def _class(folder, names=("ada", "ben", "cyd")):
    kinds = {"ada": "correct", "ben": "blank", "cyd": "wrong", "dee": "correct", "eve": "wrong", "fay": "correct"}
    for name in names:
        path = folder / name / f"{NB}.ipynb"
        if kinds[name] == "correct":
            subs.write(subs.correct_submission(A, NB), path)
        elif kinds[name] == "blank":
            subs.raw((ROOT / "exercises" / A / f"{NB}.ipynb").read_text(), path)
        else:
            subs.write(subs.correct_submission(A, NB, {"output_forward": [("h @ Why + by", "h @ Why")]}), path)


def _grade(folder, out, *extra):
    proc = run_cli("grade", A, folder, "--out", out, "--timeout", 30, *extra)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(out / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}, proc.stdout


def _scores(rows):
    return {s: float(r["score"]) for s, r in rows.items()}


def test_regrading_is_idempotent_late_submissions_alone_force_all(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    _class(folder)
    rows, log = _grade(folder, out, "--workers", "2")
    assert _scores(rows) == {"ada": MAX, "ben": 0.0, "cyd": MAX - 1}
    assert "3 to grade, 0 unchanged" in log and "2 worker(s)" in log
    first = (out / "grades.csv").read_text()

    rows, log = _grade(folder, out)
    assert "0 to grade, 3 unchanged" in log
    assert (out / "grades.csv").read_text() == first  # the same rows, seconds included
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada", "ben", "cyd"]

    _class(folder, ["dee"])  # a late submission
    rows, log = _grade(folder, out)
    assert "1 to grade, 3 unchanged" in log
    assert _scores(rows) == {"ada": MAX, "ben": 0.0, "cyd": MAX - 1, "dee": MAX}

    subs.raw((ROOT / "exercises" / A / f"{NB}.ipynb").read_text(), folder / "ada" / f"{NB}.ipynb")  # resubmitted
    rows, log = _grade(folder, out)
    assert "1 to grade, 3 unchanged" in log and _scores(rows)["ada"] == 0.0

    rows, log = _grade(folder, out, "--force")
    assert "4 to grade, 0 unchanged" in log
    assert _scores(rows) == {"ada": 0.0, "ben": 0.0, "cyd": MAX - 1, "dee": MAX}

    rows, log = _grade(folder, out, "--timeout", 31)  # other settings: every result is stale
    assert "4 to grade, 0 unchanged" in log


def test_a_killed_run_resumes_without_losing_finished_grades(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    names = ("ada", "ben", "cyd", "dee", "eve", "fay")
    _class(folder, names)
    cmd = [sys.executable, "-m", "autograder", "grade", A, str(folder), "--out", str(out), "--workers", "1",
           "--timeout", "30"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(out.glob("course/students/*/result.json"))) < 2:
        time.sleep(0.2)
    second = run_cli("grade", A, folder, "--out", out, "--timeout", 30)  # while the first one runs
    assert second.returncode == 2 and f"another grading run (pid {proc.pid}) is writing into" in second.stderr, \
        second.stderr[-2000:]
    while time.monotonic() < deadline and not _mid_notebook(out):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader alone (its workers run in sessions of their own), mid-way
    proc.wait()
    finished = len(list(out.glob("course/students/*/result.json")))
    assert 2 <= finished < len(names), "the run should have been killed half-way"
    # Nothing of the killed run goes on (a worker left grading a student in the folder that the
    # resumed run grades again once scored that student 0): its workers and kernels die with it.
    time.sleep(0.5)
    workers = [p for p in _working_in(out) if "autograder.grader.worker" in p]
    assert not workers, f"nbgrader workers of the killed run still work in {out}: {workers}"
    deadline = time.monotonic() + 5  # an unsandboxed kernel notices within a second that its parent is gone
    while _working_in(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _working_in(out), f"processes of the killed run still work in {out}: {_working_in(out)}"

    rows, log = _grade(folder, out)
    assert f"{len(names) - finished} to grade, {finished} unchanged" in log
    assert _scores(rows) == {"ada": MAX, "ben": 0.0, "cyd": MAX - 1, "dee": MAX, "eve": MAX - 1, "fay": MAX}
    assert all(r["status"] == "graded" for r in rows.values())


def _mid_notebook(out):
    """A student whose notebook is running in its kernel now (cells started, no result yet)."""
    return any(not (d / "result.json").exists() and any((d / "logs").glob("progress-*.txt"))
               for d in out.glob("course/students/*"))


def _working_in(folder):
    """Processes whose working directory (or command line) is under ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(folder)) or str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_a_kernel_that_fails_to_start_is_started_again(tmp_path, monkeypatch):
    """Two kernels started at once can take the same port; that is no reason to fail a student."""
    from autograder.grader import grade
    from autograder.grader.worker import NbWorker

    real, failed = NbWorker.run, []

    def first_start_fails(self, course_dir, assignment, student, env, log_path, timeout):
        if not failed:  # as a kernel that died before it ran any cell (no progress written)
            failed.append(student)
            return 1, "RuntimeError: Kernel died before replying to kernel_info"
        return real(self, course_dir, assignment, student, env, log_path, timeout)

    monkeypatch.setattr(NbWorker, "run", first_start_fails)
    folder, out = tmp_path / "class", tmp_path / "out"
    _class(folder, ["ada"])
    rows = grade(A, folder, out, cell_timeout=30, workers=1, log=lambda *a: None)
    assert failed and [(r.student, r.score, r.status) for r in rows] == [("ada", MAX, "graded")]


def test_throughput_benchmark_runs():
    """Smoke test of benchmarks/grading_throughput.py, every part (local, Dask, plain nbgrader); the figures
    themselves are in the notes."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grading_throughput.py"), "--n", "2",
                           "--workers", "1", "--no-postgres"], cwd=ROOT, env=tool_env(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {line[:22].strip(): line[22:].split() for line in proc.stdout.splitlines() if line.startswith(" ")}
    # run: slots, seconds, per minute, /min/core, flagged, sandbox
    local, dask, plain = rows.get("local"), rows.get("Dask (machine)"), rows.get("plain nbgrader")
    assert local and local[0] == "1" and float(local[2]) > 0 and local[4] == "0", proc.stdout
    assert dask and dask[0] == "1" and float(dask[2]) > 0 and "grades as local" in " ".join(dask), proc.stdout
    assert plain and float(plain[2]) > 0 and "scores as ours 2/2" in " ".join(plain), proc.stdout
