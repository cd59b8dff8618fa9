"""The JupyterHub path through nbgrader's exchange, end to end, with a temporary exchange folder:
the instructor releases, two students fetch and submit, the instructor collects and grades with
``python -m autograder grade``, releases feedback, and each student fetches their own.
"""

import os
import re
import shutil
import subprocess
import sys

import nbformat

import pytest
import submissions as subs
from conftest import ROOT, run_cli
from autograder.grader.processes import tool_env
from autograder.grader.nbconfig import COURSE_ID

pytestmark = [pytest.mark.slow]

A, NB = "01_rnn_forward", "rnn_forward"


def nbgrader(*args, cwd, user):
    env = dict(tool_env(), USER=user, LOGNAME=user, HOME=str(cwd))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} as {user}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout + proc.stderr


def test_release_fetch_submit_collect_grade_feedback(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)  # every user of the hub writes here
    course = tmp_path / "instructor"
    shutil.copytree(ROOT / "solutions" / A, course / "source" / A)
    (course / "nbgrader_config.py").write_text(
        "from autograder.grader.nbconfig import configure\n"
        f"c = configure(get_config(), {str(course)!r}, source='source', release='release', work='.')\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    exch = [f"--Exchange.root={exchange}", f"--CourseDirectory.course_id={COURSE_ID}"]
    nbgrader("generate_assignment", A, "--force", cwd=course, user="instructor")
    nbgrader("release_assignment", A, *exch, cwd=course, user="instructor")

    answers = {"alice": subs.correct_submission(A, NB),
               "bob": subs.correct_submission(A, NB, {"output_forward": [("h @ Why + by", "h @ Why")]})}
    homes = {}
    for student, nb in answers.items():
        home = homes[student] = tmp_path / student
        home.mkdir()
        nbgrader("fetch_assignment", A, *exch, cwd=home, user=student)
        fetched = home / A / f"{NB}.ipynb"
        assert "IMPLEMENT-ME" in fetched.read_text()  # the student copy, not the solution
        nbformat.write(nb, fetched)  # the student's work
        # On a hub each student is an OS user, and nbgrader takes the name from the account; all of
        # this test runs as one user, so it names the student explicitly (nbgrader's --student).
        nbgrader("submit", A, *exch, f"--student={student}", cwd=home, user=student)

    nbgrader("collect", A, *exch, cwd=course, user="instructor")
    for student in answers:
        assert (course / "submitted" / student / A / f"{NB}.ipynb").is_file()

    out = tmp_path / "grading"
    proc = run_cli("grade", A, course / "submitted", "--out", out, "--timeout", 30)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    grades = (out / "grades.csv").read_text()
    assert "alice,alice,,01_rnn_forward,11.0" in grades and "bob,bob,,01_rnn_forward,10.0" in grades

    for student in answers:  # our feedback, where release_feedback looks for it
        dest = course / "feedback" / student / A
        dest.mkdir(parents=True)
        shutil.copy(out / "feedback" / student / f"{NB}.html", dest / f"{NB}.html")
        for name in ("timestamp.txt", "submission_secret.txt"):  # how the exchange matches a submission
            shutil.copy(course / "submitted" / student / A / name, dest / name)
    nbgrader("release_feedback", A, *exch, cwd=course, user="instructor")
    for student, home in homes.items():
        nbgrader("fetch_feedback", A, *exch, f"--student={student}", cwd=home, user=student)
        pages = list((home / A / "feedback").rglob(f"{NB}.html"))
        assert len(pages) == 1, pages
        score = re.search(r"Score:\s*([0-9.]+) / ([0-9.]+)", subs.visible_text(pages[0]))
        assert score and float(score[1]) == (11.0 if student == "alice" else 10.0), student  # their own
