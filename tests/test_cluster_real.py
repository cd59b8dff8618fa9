"""Grading through a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

The cluster is started as an instructor starts one (see :mod:`dask_processes`), with each worker in
a private mount namespace where the coordinator's folders (every temporary folder of this test run:
the class, ``--out``) and the course's assignments (``solutions/``, ``exercises/``, ``data/``) are
an empty tmpfs: whatever the grading needs must travel as bytes. The CLI
grades through it with ``--scheduler ADDRESS``:

- the real path: a small chapter-1 class (correct, known-wrong, broken) over two workers, with
  the exact scores and feedback pages a local run gives;
- a worker killed (SIGKILL to all its processes) while it grades a slow student: the run finishes
  with every student exactly once and the right scores;
- a worker running a different course package: the run is refused (exit 2) naming that worker
  and what differs.
"""

import copy
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import submissions as subs
from autograder.grader.processes import tool_env
from conftest import ROOT, run_cli
from test_grade_01_rnn_forward import CH

import dask_processes
import sandboxes

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

NB = f"{CH.notebook}.ipynb"
SLOW_SECONDS = 8
# The course's assignments, hidden too: a worker has the package installed, not the course, and
# grades from the assignment the coordinator sends (the venv and package live in the checkout here).
COURSE_HIDDEN = [ROOT / "solutions", ROOT / "exercises", ROOT / "data"]


# ---- the cluster

def _need_cluster() -> None:
    problem = dask_processes.problem()
    if problem is None:
        return
    if sandboxes.must_work():  # root on Linux (CI): the cluster must start; no silent skip
        pytest.fail(f"a real Dask cluster must start on this machine, but: {problem}")
    pytest.skip(f"no real Dask cluster here: {problem}")


def _start(tmp_path_factory, names) -> tuple[dask_processes.Cluster, object]:
    """A scheduler and one worker per name (one grading slot each); and a client watching it."""
    from distributed import Client

    _need_cluster()
    folder = Path(tempfile.mkdtemp(prefix="agr-dask-"))  # outside pytest's folders, which are hidden
    cluster = dask_processes.Cluster(folder=folder, hidden=[tmp_path_factory.getbasetemp(), *COURSE_HIDDEN])
    client = None
    try:
        cluster.start_scheduler()
        for name in names:
            cluster.start_worker(name)
        client = Client(cluster.address, timeout=60, set_as_default=False)
        cluster.wait_for_workers(client)
    except BaseException:
        if client is not None:
            client.close()
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster, client


def _stop(cluster, client) -> None:
    try:
        client.close()
    finally:
        try:
            cluster.close()
        finally:
            shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two workers, one grading slot each, for the whole module (the fault test starts its own)."""
    c, client = _start(tmp_path_factory, ["w0", "w1"])
    yield c, client
    _stop(c, client)


# ---- helpers

def _rows(out: Path) -> list[dict]:
    with open(out / "grades.csv") as f:
        return list(csv.DictReader(f))


def _grade_args(class_dir: Path, out: Path, address: str, timeout: int = CH.timeout):
    return ["grade", CH.assignment, class_dir, "--out", out, "--scheduler", address, "--timeout", timeout]


def _check_class(out: Path, class_dir: Path, expected: dict) -> dict:
    """Every student exactly once, with the scores, status and feedback a local run gives."""
    rows = _rows(out)
    students = [r["student"] for r in rows]
    assert sorted(students) == sorted(set(students)), f"a student graded twice into grades.csv: {students}"
    by_student = {r["student"]: r for r in rows}
    assert set(by_student) == set(expected)
    for student, (scores, status, words) in expected.items():
        row = by_student[student]
        assert {gid: float(row[gid]) for gid in CH.points} == scores, f"{student}: reason={row['reason']!r}"
        assert float(row["score"]) == sum(scores.values()) and float(row["max_score"]) == CH.max_score
        assert row["status"] == status, row["reason"]
        assert row["flagged"] != "yes", f"{student} was flagged: {row['flag_reason']}"
        for words_ in words:
            assert words_ in row["reason"], row["reason"]
        if status == "graded" and not words:
            assert row["reason"] == "", row["reason"]
        CH.check_feedback(out, by_student, student, class_dir)
    return by_student


# ---- the tests

def test_workers_cannot_see_the_coordinators_folders(cluster, tmp_path_factory, tmp_path):
    c, client = cluster
    secret = tmp_path / "class" / "ada" / NB
    secret.parent.mkdir(parents=True)
    secret.write_text("{}")
    assert secret.exists()
    seen = client.run(os.path.exists, str(secret))
    assert set(seen) == {w.address for w in c.live()} and len(seen) == 2
    assert not any(seen.values()), f"a worker sees the coordinator's file {secret}: {seen}"
    instructor = ROOT / "solutions" / CH.assignment / NB
    assert instructor.is_file() and not any(client.run(os.path.exists, str(instructor)).values())
    # Not for want of a folder of its own: each works in its own, which the others do not share.
    cwd = client.run(os.getcwd)
    assert {cwd[w.address] for w in c.live()} == {str(w.folder) for w in c.live()}
    listed = client.run(os.listdir, str(tmp_path_factory.getbasetemp()))
    assert all(v == [] for v in listed.values()), listed  # the covered folder: an empty tmpfs


def test_grades_a_class_through_two_workers(cluster, tmp_path):
    c, client = cluster
    class_dir, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(CH.assignment, CH.notebook), class_dir / "correct" / NB)
    for name in ("output_bias_missing", "softmax_wrong_axis"):
        subs.write(subs.correct_submission(CH.assignment, CH.notebook, CH.mutants[name][0]), class_dir / name / NB)
    subs.raw(subs.truncated_json(subs.correct_submission(CH.assignment, CH.notebook)), class_dir / "invalid_json" / NB)
    expected = {name: CH.expected()[name] for name in ("correct", "output_bias_missing", "softmax_wrong_axis",
                                                       "invalid_json")}

    proc = run_cli(*_grade_args(class_dir, out, c.address), timeout=600)
    assert proc.returncode == 0, f"grader failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    rows = _check_class(out, class_dir, expected)
    assert float(rows["correct"]["score"]) == CH.max_score
    assert float(rows["output_bias_missing"]["score"]) == CH.max_score - CH.points["test_output_forward"]
    assert f"graded {len(expected)} submission(s)" in proc.stdout
    for student in expected:  # what the rest of `grade` reads: written by the coordinator, not the workers
        assert (out / "course" / "students" / student / "result.json").is_file(), student
    assert (out / "summary.csv").is_file()
    # Both workers graded, each student once: the workers' own logs of the tasks they finished.
    done = client.run(dask_processes.graded_here, workers=[w.address for w in c.live()])
    assert all(done.values()), f"a worker graded nobody: {done}"
    graded = [key.split("-")[2] for ks in done.values() for key in ks]  # autograder-FINGERPRINT-STUDENT-DIGEST
    assert len(graded) == len(set(graded)) and set(graded) <= set(expected), done
    assert {"correct", "output_bias_missing", "softmax_wrong_axis"} <= set(graded), done


def test_a_worker_with_another_course_package_is_refused(cluster, tmp_path):
    c, client = cluster
    skewed = c.folder / "skewed-src"
    shutil.copytree(ROOT / "autograder" / "src", skewed, ignore=shutil.ignore_patterns("__pycache__"))
    errors = skewed / "autograder" / "errors.py"
    errors.write_text(errors.read_text() + "\n# a harmless change: another version of the package\n")
    worker = c.start_worker("w-skewed", env={"PYTHONPATH": str(skewed)})
    try:
        c.wait_for_workers(client)
        where = client.run(lambda: __import__("autograder").__file__, workers=[worker.address])
        assert where[worker.address].startswith(str(skewed)), where  # the skewed worker runs the copy
        from autograder.grader.cluster import identity
        theirs = client.run(identity.package_hash, workers=[worker.address])[worker.address]
        assert theirs != identity.package_hash()

        class_dir, out = tmp_path / "class", tmp_path / "out"
        subs.write(subs.correct_submission(CH.assignment, CH.notebook), class_dir / "correct" / NB)
        proc = run_cli(*_grade_args(class_dir, out, c.address), timeout=300)
        assert proc.returncode == 2, f"not refused:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        message = proc.stderr
        assert "error:" in message
        assert f"worker {worker.address}" in message, message
        assert "package" in message and theirs[:12] in message, message  # what differs: the package's hash
        for other in c.live():  # the others agree with the coordinator: not named
            if other is not worker:
                assert other.address not in message, message
        assert not (out / "grades.csv").exists()
    finally:
        c.stop_worker(worker, client)


def test_a_worker_killed_while_grading_loses_nobody(tmp_path_factory, tmp_path):
    c, client = _start(tmp_path_factory, ["f0", "f1"])
    try:
        class_dir, out = tmp_path / "class", tmp_path / "out"
        correct = subs.correct_submission(CH.assignment, CH.notebook)
        subs.write(correct, class_dir / "correct" / NB)
        slow = copy.deepcopy(correct)
        slow.cells.insert(1, nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLOW_SECONDS})"))
        subs.write(slow, class_dir / "slow" / NB)
        name = "output_bias_missing"
        subs.write(subs.correct_submission(CH.assignment, CH.notebook, CH.mutants[name][0]), class_dir / name / NB)
        expected = {"correct": CH.expected()["correct"], "slow": CH.expected()["correct"], name: CH.expected()[name]}

        log = tmp_path / "grade.log"
        with open(log, "w") as stream:
            grading = subprocess.Popen([sys.executable, "-m", "autograder",
                                        *map(str, _grade_args(class_dir, out, c.address, timeout=SLOW_SECONDS + 20))],
                                       cwd=ROOT, env=tool_env(), stdout=stream, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            victim = None
            deadline = time.monotonic() + 240
            while victim is None and time.monotonic() < deadline and grading.poll() is None:
                running = client.run(dask_processes.executing, workers=[w.address for w in c.live()])
                victim = next((w for w in c.live() if any("-slow-" in key for key in running.get(w.address, []))), None)
                time.sleep(0.3)
            assert victim is not None, f"the slow student never ran on a worker:\n{log.read_text()[-3000:]}"
            time.sleep(2)  # well inside its grading (the slow cell alone takes SLOW_SECONDS)
            running = client.run(dask_processes.executing, workers=[victim.address])[victim.address]
            assert any("-slow-" in key for key in running), f"{victim.name} no longer grades the slow student"
            victim.kill()
            survivor = c.live()
            assert len(survivor) == 1
            grading.wait(timeout=400)
        finally:
            if grading.poll() is None:
                os.killpg(grading.pid, 9)
                grading.wait()
        text = log.read_text()
        assert grading.returncode == 0, f"grader failed after losing {victim.name}:\n{text[-4000:]}"
        _check_class(out, class_dir, expected)
        assert f"graded {len(expected)} submission(s)" in text
        # The slow student was graded again, to the end, by the worker left.
        assert victim.address not in client.scheduler_info(n_workers=-1)["workers"]
        done = client.run(dask_processes.graded_here, workers=[survivor[0].address])[survivor[0].address]
        assert any("-slow-" in key for key in done), done
    finally:
        _stop(c, client)
