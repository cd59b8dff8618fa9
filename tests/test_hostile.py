"""A class of hostile submissions: each gets one row, the cells it did not break are still graded,
and nothing it does reaches the grader, the course or the other students.

Every submission is chapter 1's correct answer with one extra cell (right after the first
solution cell, so every test after it depends on the kernel surviving or on the re-run without
it). Graded through the real CLI, in the sandbox (``--sandbox auto``), twice: by root (slots as uids of
their own, cgroups) and by an ordinary user (a user namespace, rlimits); see tests/sandboxes.py. A
last class is graded with ``--sandbox off``.
"""

import csv
import json
import os
import re

import nbformat
import pytest

import sandboxes
import submissions as subs
from conftest import ROOT, run_cli
from autograder import sandbox

A, NB = "01_rnn_forward", "rnn_forward"
MAX = 11.0
TIMEOUT = 10
MEMORY_MB = 1024
# As a user the memory bound is RLIMIT_AS, on address space (a kernel's is well above what it uses):
# 1024 MB of it leaves no room to print the output flood's 100 MB line at all.
MEMORY_MB_AS_USER = 2048
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

SNOOP = r'''
import os, socket
found = []
for path in {paths!r}:
    try:
        with open(path, "rb") as f:
            f.read(1)
        found.append("read " + path)
    except OSError:
        pass
for path in {write_paths!r}:
    try:
        with open(path, "w") as f:
            f.write("student was here")
        found.append("wrote " + path)
    except OSError:
        pass
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    found.append("network")
except OSError:
    pass
print("SNOOPED", sorted(found), os.getuid())
'''

HOSTILE = {
    # A loop that ignores SIGINT: the per-cell interrupt does nothing; the sandbox stops the kernel.
    "sigint_loop": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)",
    # Memory: 64 MB blocks until the limit.
    "memory_bomb": "blocks = []\nwhile True:\n    blocks.append(b'x' * (64 << 20))",
    # Processes: every process forks again, until the process limit.
    "fork_bomb": "import os\nwhile True:\n    os.fork()",
    # 100 MB of printed output in one cell, and a million short lines in the same cell.
    "output_flood": "print('x' * 100_000_000)\nfor i in range(1_000_000):\n    print(i)",
    # Files written next to the notebook: over the notebook itself, and a new one.
    "writes_files": "open('rnn_forward.ipynb', 'w').write('{}')\nopen('next_to_the_notebook.txt', 'w').write('x')",
    # The kernel exits.
    "exits": "import os\nos._exit(3)",
}


# Without a memory cgroup (an ordinary user's sandbox), the memory bomb meets RLIMIT_AS: the cell
# gets a MemoryError and the kernel lives on, so the cell is graded (it scores nothing itself).
KILLED_ONLY_WITH_CGROUPS = {"memory_bomb"}


def _hostile_index():
    nb = subs.correct_submission(A, NB)
    return 1 + next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "rnn_step_forward")


HOSTILE_AT = _hostile_index()  # where the extra cell goes


def _with_cell(source):
    nb = subs.correct_submission(A, NB)
    nb.cells.insert(HOSTILE_AT, nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module", params=sandboxes.MODES)
def graded(request, tmp_path_factory):
    mode = request.param
    sandboxes.need(mode)
    tmp = tmp_path_factory.mktemp(f"hostile-{mode}")
    folder, out = tmp / "class", tmp / "out"
    for name, source in HOSTILE.items():
        subs.write(_with_cell(source), folder / name / f"{NB}.ipynb")
    subs.write(subs.correct_submission(A, NB), folder / "honest" / f"{NB}.ipynb")
    students = out / "course" / "students"
    secret = tmp / "instructor_only.txt"
    secret.write_text("the instructor's notes")
    snoop = SNOOP.format(
        paths=[str(ROOT / "solutions" / A / f"{NB}.ipynb"), str(students / "snoop" / "gradebook.db"),
               str(students / "honest" / "submitted" / "honest" / A / f"{NB}.ipynb"),
               str(out / "course" / "template" / "source" / A / f"{NB}.ipynb"), str(secret), "/root/.bashrc"],
        write_paths=[str(tmp / "escaped.txt"), str(ROOT / "escaped.txt"), "/escaped.txt"])
    subs.write(_with_cell(snoop), folder / "snoop" / f"{NB}.ipynb")
    if mode == "user" and os.geteuid() == 0:
        sandboxes.give(folder)
        sandboxes.give(out)
    memory = MEMORY_MB if mode == "root" else MEMORY_MB_AS_USER
    proc = sandboxes.run_cli(mode, "grade", A, folder, "--out", out, "--timeout", TIMEOUT, "--memory", memory,
                             "--workers", 2)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return tmp, out, rows, proc.stdout, mode


def test_one_row_each_and_the_rest_graded(graded):
    _, out, rows, log, mode = graded
    assert set(rows) == set(HOSTILE) | {"honest", "snoop"}
    for name, row in rows.items():
        assert row["status"] == "graded", (name, row["reason"])
        assert float(row["score"]) == MAX, (name, row["reason"])
        assert (out / "feedback" / name / f"{NB}.html").is_file()
        assert row["flagged"] == "no", (name, row["flag_reason"])  # hostile, but its answers are its own
    assert rows["honest"]["reason"] == ""
    labels = {r["sandbox"] for r in rows.values()}
    assert len(labels) == 1 and labels.pop().startswith("on ("), log
    # Which limits held, in the column: as root, this machine's cgroups; as a user, rlimits.
    held = "cgroup memory" if mode == "root" else "rlimit memory"
    memory = MEMORY_MB if mode == "root" else MEMORY_MB_AS_USER
    assert all(held in r["sandbox"] and f"{memory} MB" in r["sandbox"] for r in rows.values()), labels


@pytest.mark.parametrize("name, words", [
    ("sigint_loop", "ignored the interrupt"),
    ("memory_bomb", f"{MEMORY_MB} MB memory limit"),
    ("exits", "kernel died"),
])
def test_the_reason_names_the_cell_and_what_it_did(graded, name, words):
    if name in KILLED_ONLY_WITH_CGROUPS and "cgroup memory" not in graded[2][name]["sandbox"]:
        reason = graded[2][name]["reason"]
        assert reason == "", reason  # a MemoryError in the cell: graded like any failing cell
        return
    reason = graded[2][name]["reason"]
    assert f"cell {HOSTILE_AT} " in reason and "was not graded" in reason and words in reason, reason


def test_output_is_capped(graded):
    _, out, rows, _, _ = graded
    feedback = out / "feedback" / "output_flood" / f"{NB}.html"
    assert feedback.stat().st_size < 5_000_000
    assert "the grader kept only the first" in feedback.read_text()


def test_files_written_next_to_the_notebook_stay_in_the_sandbox(graded):
    _, out, rows, _, _ = graded
    graded_dir = out / "course" / "students" / "writes_files" / "autograded" / "writes_files" / A
    assert not (graded_dir / "next_to_the_notebook.txt").exists()
    assert json.loads((graded_dir / f"{NB}.ipynb").read_text())["cells"]  # the real notebook, not '{}'


def test_the_sandbox_hides_the_course_the_gradebook_others_and_the_network(graded):
    tmp, out, rows, _, _ = graded
    nb = json.loads((out / "course" / "students" / "snoop" / "autograded" / "snoop" / A / f"{NB}.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    m = re.search(r"SNOOPED (\[.*?\]) (\d+)", printed)
    assert m, printed[:2000]
    assert m[1] == "[]", f"the sandbox let student code do: {m[1]}"
    assert int(m[2]) >= sandbox.UID_BASE
    assert not (tmp / "escaped.txt").exists() and not (ROOT / "escaped.txt").exists()


def test_no_sandbox_process_or_cgroup_outlives_grading(graded):
    uids = sandboxes.uids(graded[4])
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid not in uids or pid == str(os.getpid()):
                continue
            status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
        except OSError:
            continue
        # A zombie has exited already: a launcher killed by nbclient leaves bubblewrap's to init to reap.
        if not status["State"].strip().startswith("Z"):
            leftovers.append(f"{pid} {status['Name'].strip()} ({status['State'].strip()})")
    assert not leftovers, f"processes of sandbox users still running: {leftovers}"
    import glob

    cgroups = [p for depth in range(4) for p in glob.glob("/sys/fs/cgroup/*/" + "*/" * depth + "autograder-*")]
    assert not cgroups, cgroups


def test_unsandboxed_grading_says_so_loudly(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(A, NB), folder / "ada" / f"{NB}.ipynb")
    proc = run_cli("grade", A, folder, "--out", out, "--timeout", TIMEOUT, "--sandbox", "off")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "WARNING: grading UNSANDBOXED" in proc.stdout
    with open(out / "grades.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["score"]) == MAX and row["sandbox"].startswith("OFF")
    assert "UNSANDBOXED" in (out / "summary.md").read_text()


