"""The cluster's pure parts (no scheduler, no kernel): the identity comparison that refuses a worker,
and the task and result that travel between the coordinator and a worker (:mod:`autograder.grader.cluster`)."""

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from autograder.grader.assignment import Assignment
from autograder.grader.assignment import TestCell as Part  # (a Test* name would be collected by pytest)
from autograder.grader.cluster.identity import differences, mismatch, worker_identity
from autograder.grader.cluster.plugin import pack_assignment, unpack_assignment
from autograder.grader.cluster.protocol import GradedStudent, StudentTask
from autograder.grader.results import Result, Status
from autograder.grader.submissions import Student
from autograder.grader.workspace import (RESULT_NAME, grading_fingerprint, install_template, load_messages,
                                        load_result)

pytestmark: list = []  # unit tests: no kernel, no marker

PARTS = [Part("test_a", "nb", 2.0, "visible checks"), Part("test_b", "nb", 1.0, "hidden test")]


def test_an_identical_worker_is_accepted():
    here = worker_identity()
    assert differences(here, here) == [] and mismatch("tcp://10.0.0.7:40001", here, here) is None


def test_a_skewed_worker_is_refused_by_name_with_what_differs():
    here = worker_identity()
    there = dataclasses.replace(
        here, python="3.10.0", package="0" * 64, versions={**here.versions, "numpy": "1.0.0", "tensorflow": "absent"},
        distributions=here.distributions + ("left-pad==9.9",))
    message = mismatch("tcp://10.0.0.7:40001", here, there)
    assert message.startswith("worker tcp://10.0.0.7:40001 ")
    assert f"Python 3.10.0 (here {here.python})" in message
    assert f"numpy 1.0.0 (here {here.versions['numpy']})" in message
    assert f"tensorflow absent (here {here.versions['tensorflow']})" in message
    assert "the autograder package's code (hash 000000000000" in message
    assert "left-pad==9.9 (there only)" in message
    assert len(differences(here, there)) == 5


def test_only_the_package_differs():
    here = worker_identity()
    assert differences(here, dataclasses.replace(here, package="f" * 64)) == [
        f"the autograder package's code (hash ffffffffffff, here {here.package[:12]})"]


def test_a_task_travels_and_is_written_back_as_the_student(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    first, second = tmp_path / "in" / "nb.ipynb", tmp_path / "in" / "sub" / "nb.ipynb"
    first.write_bytes(b'{"cells": []}')
    second.write_bytes(b"\x00other bytes")
    st = Student("ada", "Ada L.", [first, second], "d" * 64, "42", ("attempt 2 of 2 graded",))
    task = pickle.loads(pickle.dumps(StudentTask.from_student(st, "f" * 64, "nonce")))
    assert task.key == f"autograder-{'f' * 12}-ada-{'d' * 16}"
    back = task.write_files(tmp_path / "worker" / "ada")
    assert (back.id, back.label, back.digest, back.platform_id, back.notes) == (st.id, st.label, st.digest, "42",
                                                                               st.notes)
    assert [p.name for p in back.files] == ["nb.ipynb", "nb.ipynb"]  # same names, intake's order, no clash
    assert [p.read_bytes() for p in back.files] == [first.read_bytes(), second.read_bytes()]
    assert all(tmp_path / "worker" / "ada" in p.parents for p in back.files)


def test_a_task_with_a_path_for_a_name_is_refused(tmp_path):
    task = StudentTask("ada", "ada", "", (), "d", (("../escape.ipynb", b"x"),), "f", "n")
    with pytest.raises(ValueError):
        task.write_files(tmp_path / "ada")
    assert not (tmp_path / "escape.ipynb").exists()


def test_a_graded_student_comes_back_as_a_local_run_leaves_it(tmp_path):
    a = Assignment("01_x", Path("/nowhere"), ["nb"], PARTS, {"nb": {"test_a", "test_b"}}, 5)
    worker_dir = tmp_path / "worker" / "ada"
    (worker_dir / "feedback").mkdir(parents=True)
    (worker_dir / "feedback" / "nb.html").write_bytes("<p>feedback é</p>".encode())
    (worker_dir / "gradebook.db").write_bytes(b"SQLite format 3\x00...")
    result = Result("ada", "Ada L.", Status.GRADED, {"test_a": 2.0, "test_b": 0.0}, ["a note"], [], True,
                    "root; limits", seconds=3.5, platform_id="42", messages={"test_b": "AssertionError: no"})
    graded = pickle.loads(pickle.dumps(GradedStudent.from_folder(a, result, worker_dir, "tcp://w:1")))
    sdir = tmp_path / "out" / "course" / "students" / "ada"
    graded.save(sdir, "fp", "digest")
    assert (sdir / "feedback" / "nb.html").read_bytes() == (worker_dir / "feedback" / "nb.html").read_bytes()
    assert (sdir / "gradebook.db").read_bytes() == b"SQLite format 3\x00..."
    assert load_result(sdir, "fp", "digest") == result.to_row(a)
    assert load_messages(sdir) == result.messages
    assert json.loads((sdir / RESULT_NAME).read_text())["feedback"] == ["nb.html"]
    back = graded.result(a)
    assert back.to_row(a) == result.to_row(a) and back.messages == result.messages


def test_the_assignment_bundle_unpacks_to_the_same_files(tmp_path):
    src = tmp_path / "solutions" / "01_x"
    (src / ".ipynb_checkpoints").mkdir(parents=True)
    (src / "nb.ipynb").write_text("{}")
    (src / "data").mkdir()
    (src / "data" / "table.csv").write_text("1,2\n")
    (src / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("stale")
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n")
    a = Assignment("01_x", src, ["nb"], PARTS, {}, 1)
    template = tmp_path / "course" / "template"  # as prepare_template leaves it
    for name in ("source/01_x/nb.ipynb", "release/01_x/nb.ipynb", "gradebook.db", "ready.json",
                 "nbgrader_config.py", "generate_assignment.log"):
        (template / name).parent.mkdir(parents=True, exist_ok=True)
        (template / name).write_text(name)
    unpack_assignment(pack_assignment(a, config, tmp_path / "course"), tmp_path / "worker")
    got = sorted(str(p.relative_to(tmp_path / "worker")) for p in (tmp_path / "worker").rglob("*") if p.is_file())
    # the template travels without what names the coordinator's folders (its config, stamp and log)
    assert got == ["nbgrader_config.py", "solutions/01_x/data/table.csv", "solutions/01_x/nb.ipynb",
                   "template/gradebook.db", "template/release/01_x/nb.ipynb", "template/source/01_x/nb.ipynb"]
    assert (tmp_path / "worker" / "template" / "gradebook.db").read_text() == "gradebook.db"


def test_a_shipped_template_is_installed_with_this_machines_config_and_fingerprint(tmp_path):
    src = tmp_path / "solutions" / "01_x"
    src.mkdir(parents=True)
    (src / "nb.ipynb").write_text("{}")
    a = Assignment("01_x", src, ["nb"], PARTS, {}, 1)
    prepared = tmp_path / "bundle" / "template"
    for name in ("source/01_x/nb.ipynb", "release/01_x/nb.ipynb", "gradebook.db"):
        (prepared / name).parent.mkdir(parents=True, exist_ok=True)
        (prepared / name).write_text(name)
    work = tmp_path / "worker" / "course"
    fp = install_template(a, prepared, work, 7)
    assert fp == grading_fingerprint(a, 7)  # this machine's own, for the caller to compare with the coordinator's
    tdir = work / "template"
    assert json.loads((tdir / "ready.json").read_text()) == {"fingerprint": fp}
    config = (tdir / "nbgrader_config.py").read_text()
    assert repr(str(tdir)) in config and "cell_timeout=7" in config  # names the worker's folder, not the coordinator's
    assert (tdir / "release" / "01_x" / "nb.ipynb").read_text() == "release/01_x/nb.ipynb"
