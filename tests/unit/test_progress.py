"""The progress file: written by BoundedExecute, read by the grader to name the cell to blame."""

import pytest

from autograder.grader import progress
from autograder.grader.progress import Progress


def test_what_is_written_is_read_back(tmp_path):
    path = tmp_path / "progress-1.txt"
    progress.record_start(path, "nb:1", "cell 1 ('setup')")
    progress.record_start(path, "nb:3", "cell 3 ('test_a')")
    progress.record_timeout(path, "nb:3")
    progress.record_start(path, "nb:4", "")
    got = progress.read(path)
    assert got.started == ["nb:1", "nb:3", "nb:4"]
    assert got.timed_out == {"nb:3"}
    assert got.labels == {"nb:1": "cell 1 ('setup')", "nb:3": "cell 3 ('test_a')", "nb:4": "nb:4"}
    assert got.label("nb:3") == "cell 3 ('test_a')" and got.label("nb:9") == "nb:9"


def test_no_file_is_no_progress(tmp_path):
    assert progress.read(tmp_path / "missing.txt") == Progress()
    assert progress.read(tmp_path / "missing.txt").culprit() is None


@pytest.mark.parametrize("started, timed_out, culprit", [
    ([], set(), None),
    (["3"], set(), "3"),
    (["3", "4", "5"], set(), "5"),  # the kernel died in the last cell started
    (["3", "4", "5"], {"5"}, "5"),  # it hung there
    (["3", "4", "5"], {"4", "5"}, "4"),  # a hung kernel: the first of the run of timeouts
    (["3", "4", "5"], {"4"}, "4"),  # 4 hung; 5 started on the hung kernel and died with it
    (["3", "4", "5"], {"3", "4", "5"}, "3"),
    (["3", "4", "5"], {"3"}, "5"),  # 3 timed out and recovered; 4 ran: 5 is to blame
    (["3", "4", "5", "6"], {"3", "5"}, "5"),
])
def test_the_culprit(started, timed_out, culprit):
    assert Progress(started=started, timed_out=timed_out).culprit() == culprit
