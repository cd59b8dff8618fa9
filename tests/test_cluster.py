"""Grading on a Dask cluster (``grade(..., scheduler=...)``) gives what a local run gives.

A ``distributed.LocalCluster`` of two worker processes, one ``grade`` slot each, grades a small
chapter-1 class (correct, two known-wrong, one that raises, one invalid notebook); ``grades.csv``
must equal a local run's of the same class except the ``seconds`` column, and every feedback page
must be byte-identical, except the messages of hidden tests that quote the seed of their random
inputs: those are drawn fresh on every run (local runs differ there too). Through the same cluster: a worker that differs from the coordinator is
refused by name, and the grader's own failure on a worker ends the run once, naming the student.
The real processes (``dask scheduler``, ``dask worker``, the CLI, a killed worker) are
``test_cluster_real.py``'s.
"""

import csv
import dataclasses
import os
import re

import pytest
import submissions as subs
from test_grade_01_rnn_forward import CH

from autograder.errors import GraderError
from autograder.grader import grade, load_assignment
from autograder.grader.cluster import Coordinator
from autograder.grader.cluster.plugin import ClusterSettings
from autograder.grader.intake import discover
from autograder.grader.run import WALL_MARGIN
from autograder.grader.workspace import prepare_template

distributed = pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

# A failed check's message that quotes the seed of its random inputs (autograder.checks), up to that quote.
SEEDED_MESSAGE = re.compile(rb"[A-Za-z]*Error: [^<]*?\(random inputs drawn with seed \d+\)")
CLASS = {  # student -> (edits of the instructor's code, test cells that must score 0)
    "correct": ({}, set()),
    "sigmoid_not_tanh": CH.mutants["sigmoid_not_tanh"],
    "softmax_wrong_axis": CH.mutants["softmax_wrong_axis"],
    "raises_in_rnn_forward": CH.mutants["raises_in_rnn_forward"],
}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, resources={"grade": 1},
                                  dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    nb_name = f"{CH.notebook}.ipynb"
    for name, (edits, _) in CLASS.items():
        subs.write(subs.correct_submission(CH.assignment, CH.notebook, edits), folder / name / nb_name)
    subs.raw(subs.truncated_json(subs.correct_submission(CH.assignment, CH.notebook)), folder / "invalid_json" / nb_name)
    return folder


def rows(out):
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_cluster_grades_as_a_local_run(cluster, class_dir, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "cluster"
    grade(CH.assignment, class_dir, local, cell_timeout=CH.timeout, workers=2)
    lines = []
    grade(CH.assignment, class_dir, remote, cell_timeout=CH.timeout, scheduler=cluster.scheduler_address,
          log=lines.append)
    got, want = rows(remote), rows(local)
    assert [r["student"] for r in got] == [r["student"] for r in want] == sorted([*CLASS, "invalid_json"])
    for g, w in zip(got, want):
        assert g.pop("seconds") and w.pop("seconds")
        assert g == w
    by_id = {r["student"]: r for r in got}
    for name, (_, lost) in CLASS.items():  # and the local run is right
        assert {gid: float(by_id[name][gid]) for gid in CH.points} == CH.scores(lost), name
    assert by_id["invalid_json"]["status"] == "ungraded"
    assert by_id["correct"]["sandbox"].startswith("on") or os.environ.get("AUTOGRADER_TEST_NO_SANDBOX")
    pages = sorted(p.relative_to(local) for p in (local / "feedback").rglob("*.html"))
    assert len(pages) == 5 and pages == sorted(p.relative_to(remote) for p in (remote / "feedback").rglob("*.html"))
    seeded = 0
    for page in pages:
        # A hidden test draws fresh random inputs on every run (autograder.seeding.fresh_seed) and its message
        # quotes them: the one part of a page that differs between any two runs, local or not. Everything
        # else is compared byte for byte; the seeded messages are counted and must differ only there.
        got_page, want_page = (remote / page).read_bytes(), (local / page).read_bytes()
        got_masked, n_got = SEEDED_MESSAGE.subn(b"<seeded message>", got_page)
        want_masked, n_want = SEEDED_MESSAGE.subn(b"<seeded message>", want_page)
        assert got_masked == want_masked and n_got == n_want, page
        assert (got_page == want_page) == (n_got == 0), page
        seeded += n_got
    assert seeded >= 2  # sigmoid_not_tanh's test_rnn_forward_reference: in the summary and in the cell
    graded_on = {line.rsplit("[", 1)[1].rstrip("]") for line in lines if line.startswith("  ") and "[" in line}
    assert graded_on <= set(cluster.scheduler_info["workers"]) and len(graded_on) >= 1
    for name in CLASS:  # each student's gradebook came back from the worker
        assert (remote / "course" / "students" / name / "gradebook.db").stat().st_size > 0
    # a second run keeps every result, grading nobody
    lines.clear()
    grade(CH.assignment, class_dir, remote, cell_timeout=CH.timeout, scheduler=cluster.scheduler_address,
          log=lines.append)
    assert any("0 to grade, 5 unchanged" in line for line in lines), lines


def test_db_url_with_a_scheduler_is_refused(class_dir, tmp_path):
    with pytest.raises(GraderError, match="--db-url cannot be used with --scheduler"):
        grade(CH.assignment, class_dir, tmp_path / "out", scheduler="tcp://127.0.0.1:1", db_url="sqlite:///x.db")


def coordinator(address, tmp_path):
    """A Coordinator for chapter 1 with the settings ``grade`` would use, its template prepared here."""
    a = load_assignment(CH.assignment)
    fp = prepare_template(a, tmp_path / "course", CH.timeout)
    settings = ClusterSettings(a.name, CH.timeout, "auto", 4096, a.n_cells * CH.timeout + WALL_MARGIN, fp)
    return Coordinator(address, a, settings, os.urandom(8).hex(), subs.ROOT / "nbgrader_config.py", tmp_path / "course",
                       log=print)


def test_a_skewed_worker_is_refused_by_name(cluster, tmp_path):
    c = coordinator(cluster.scheduler_address, tmp_path)
    here = c.plugin.identity
    c.plugin.identity = dataclasses.replace(here, versions={**here.versions, "numpy": "0.0-skewed"})
    with pytest.raises(GraderError) as info:
        c.__enter__()
    message = str(info.value)
    for address in cluster.scheduler_info["workers"]:
        assert f"worker {address} does not grade with what this grader has" in message
    assert f"numpy {here.versions['numpy']} (here 0.0-skewed)" in message
    assert c.client is None  # closed


def break_slots(name, dask_worker=None):
    dask_worker.plugins[name].grading.nb_workers.clear()  # the next student's slot has no nbgrader process


def test_the_graders_own_failure_names_the_student_and_is_not_retried(cluster, class_dir, tmp_path):
    a = load_assignment(CH.assignment)
    students = [st for st in discover(class_dir, tmp_path / "out", a.name).students if st.id == "correct"]
    with coordinator(cluster.scheduler_address, tmp_path) as c:
        c.client.run(break_slots, c.name)
        with pytest.raises(GraderError) as info:
            c.grade(tmp_path / "course", students)
    message = str(info.value)
    assert "1 of 1 student(s) could not be graded" in message
    assert "grading student correct on worker tcp://" in message and "KeyError" in message
    assert not (tmp_path / "course" / "students" / "correct").exists()
