"""The sandbox on this machine: it holds as root and as an ordinary user, and where user namespaces
are switched off an ordinary user's ``--sandbox require`` stops with what is missing and how to enable it.

"No user namespaces" is made real, not mocked: a user namespace of our own (``unshare -r``) whose
``user.max_user_namespaces`` is 0, so bubblewrap inside it cannot create one. Root in such a
namespace is root in a rootless container: it sandboxes as an ordinary user does.
"""

import csv
import os
import shutil
import subprocess
import sys

import pytest

import sandboxes
import submissions as subs
from conftest import ROOT
from autograder.grader.processes import tool_env

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

A, NB = "01_rnn_forward", "rnn_forward"
PROBE = sandboxes.PROBE  # prints the probe's problem, or OK


def _in_own_user_namespace(script: str, *, userns_off: bool, **kwargs) -> subprocess.CompletedProcess:
    """Run ``script`` (shell) as root of a fresh user namespace, with nested ones switched off or not."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux's unshare is not installed")
    sandboxes.need("user")
    off = "echo 0 > /proc/sys/user/max_user_namespaces && " if userns_off else ""
    return subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", off + script], env=tool_env(),
                          capture_output=True, text=True, timeout=600, **kwargs)


def test_probe_in_a_rootless_container_sandboxes_as_a_user():
    proc = _in_own_user_namespace(f"{sys.executable} -c \"{PROBE}\"", userns_off=False)
    assert proc.stdout.strip().endswith("OK"), proc.stdout + proc.stderr


def test_probe_without_user_namespaces_says_what_is_missing_and_how_to_enable_it():
    proc = _in_own_user_namespace(f"{sys.executable} -c \"{PROBE}\"", userns_off=True)
    text = proc.stdout.strip()
    assert text.startswith("the sandbox could not be set up"), proc.stdout + proc.stderr
    assert "user namespaces are switched off" in text and "sysctl -w user.max_user_namespaces" in text


def test_require_without_user_namespaces_stops_before_grading(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(A, NB), folder / "ada" / f"{NB}.ipynb")
    proc = _in_own_user_namespace(f"{sys.executable} -m autograder grade {A} {folder} --out {out} --sandbox require",
                                  userns_off=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "error: the sandbox cannot be used here" in proc.stderr and "max_user_namespaces" in proc.stderr
    assert not (out / "grades.csv").exists()


def test_require_as_an_ordinary_user_grades_in_the_sandbox(tmp_path):
    sandboxes.need("user")
    folder, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(A, NB), folder / "ada" / f"{NB}.ipynb")
    if os.geteuid() == 0:
        sandboxes.give(folder)
        sandboxes.give(out)
    proc = sandboxes.run_cli("user", "grade", A, folder, "--out", out, "--sandbox", "require", "--timeout", 30)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        row = next(csv.DictReader(f))
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]), row
    assert row["sandbox"].startswith("on (user; rlimit memory"), row["sandbox"]
