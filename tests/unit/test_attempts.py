"""The autograde loop's decisions: why a cell stopped (sandbox events, not text), kernel deaths,
timeouts, kernel-start retries and skipped cells; with a scripted worker, no nbgrader or kernel."""

import ast
import io
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autograder.grader import attempts
from autograder.grader import assignment
from autograder.grader.attempts import Limits, explain_failure, find_timeouts, kernel_died, why_stopped
from autograder.grader.isolation import SlotEnv
from autograder.grader.run import GradingRun
from autograder.grader.submissions import Student
from autograder.sandbox import events

LIMITS = Limits(cell_timeout=10, wall_limit=310.0, memory_mb=1024)


def _log(*lines: str, event: str | None = None, **detail: object) -> str:
    out = io.StringIO()
    for line in lines:
        print(line, file=out)
    if event:
        events.emit(event, stream=out, **detail)
    return out.getvalue()


@pytest.mark.parametrize("event, words", [
    (events.IGNORED_INTERRUPT, "it kept running after the 10 s cell timeout and ignored the interrupt"),
    (events.MEMORY_LIMIT, "it used more than the 1024 MB memory limit"),
    (events.PROCESS_LIMIT, "the Python kernel died after it started more processes than the limit allows"),
    (None, "the Python kernel died while running it (for example os._exit, a crash or running out of memory)"),
])
def test_why_a_cell_stopped_comes_from_the_sandbox_events(event, words):
    log = _log("[AutogradeApp | ERROR] DeadKernelError: Kernel died", event=event, megabytes=1024)
    assert why_stopped(1, log, LIMITS) == words


def test_free_text_is_not_an_event():
    log = _log("MemoryError: the memory limit was hit", "it ignored an interrupt", "process limit reached")
    assert why_stopped(1, log, LIMITS).startswith("the Python kernel died while running it")


def test_a_stopped_worker_ran_out_of_wall_clock():
    assert why_stopped(None, _log(event=events.MEMORY_LIMIT), LIMITS) == "the notebook was still running after 310 s"
    assert explain_failure(None, "", LIMITS) == \
        "grading was stopped after 310 s (the notebook kept running); nothing could be graded"


@pytest.mark.parametrize("line", ["nbclient.exceptions.DeadKernelError: Kernel died",
                                  "RuntimeError: Kernel died before replying to kernel_info", "the kernel died"])
def test_kernel_deaths(line):
    assert kernel_died(_log("[AutogradeApp] converting", line))
    assert explain_failure(1, _log(line), LIMITS).startswith("the Python kernel died while running the notebook")


def test_no_kernel_death():
    assert not kernel_died(_log("[AutogradeApp] done", "ValueError: bad"))


def test_other_failures_quote_the_last_error_line():
    log = _log("[ERROR] first", "x", "  nbgrader.api.MissingEntry: Error: no such student  ", "tail")
    assert explain_failure(1, log, LIMITS) == \
        "nbgrader could not autograde the notebook: nbgrader.api.MissingEntry: Error: no such student"
    assert explain_failure(1, "", LIMITS) == "nbgrader could not autograde the notebook: no output"
    assert explain_failure(1, "just this\n", LIMITS) == "nbgrader could not autograde the notebook: just this"


def test_a_sandbox_that_could_not_start_says_why():
    log = _log("RuntimeError: Kernel died before replying to kernel_info", event=events.SETUP_FAILED,
               detail="bwrap: No permissions to create new namespace")
    assert explain_failure(1, log, LIMITS) == ("the sandbox could not start the notebook's kernel (bwrap: No "
                                               "permissions to create new namespace); nothing could be graded")


def _output_cell(gid: str | None, output: dict, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x", id=cell_id)
    cell.outputs = [nbformat.v4.new_output(**output)]
    if gid:
        cell.metadata["nbgrader"] = {"grade_id": gid, "grade": True, "points": 1, "solution": False}
    return cell


def test_timeouts_are_found_in_the_autograded_notebooks(tmp_path):
    timeout = {"output_type": "error", "ename": "CellTimeoutError", "evalue": "", "traceback": []}
    interrupted = {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []}
    other = {"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": []}
    printed = {"output_type": "stream", "name": "stdout", "text": "fine\n"}
    nb = nbformat.v4.new_notebook(cells=[_output_cell("test_a", timeout, "c1"), _output_cell("test_b", other, "c2"),
                                         _output_cell(None, interrupted, "c3"), _output_cell("test_d", printed, "c4")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    (tmp_path / "b.ipynb").write_text("not json")
    assert find_timeouts(tmp_path) == ["test_a", "c3"]
    assert find_timeouts(tmp_path / "missing") == []


# ---------------------------------------------------------------- the loop, with a scripted worker

A = assignment.Assignment("01_x", Path("/nowhere"), ["nb"],
                          [assignment.TestCell("t1", "nb", 1.0), assignment.TestCell("t2", "nb", 2.0)],
                          {"nb": {"t1", "t2"}}, 10)
FULL = {"t1": 1.0, "t2": 2.0}


class ScriptedWorker:
    """Plays one (progress lines, rc, log) step per call; remembers the cells each call was told to skip."""

    def __init__(self, steps: list[tuple[list[str], int | None, str]]):
        self.steps, self.skipped = list(steps), []

    def run(self, course_dir: Path, assignment: str, student: str, env: dict, log_path: Path,
            timeout: float) -> tuple[int | None, str]:
        config = (Path(course_dir) / "nbgrader_config.py").read_text()
        self.skipped.append(ast.literal_eval(re.search(r"skip_cells=(\[.*?\])", config)[1]))
        progress_file = ast.literal_eval(re.search(r"BoundedExecute.progress_file = (.*)", config)[1])
        lines, rc, log = self.steps.pop(0)
        Path(progress_file).write_text("".join(f"{line}\n" for line in lines))
        return rc, log


@pytest.fixture
def loop(tmp_path, monkeypatch):
    folder = tmp_path / "students" / "ada"
    (folder / "logs").mkdir(parents=True)
    run = GradingRun(A, tmp_path, 10, 310.0, "fp", "nonce", None, SimpleNamespace(memory_bytes=1024 << 20))
    scores: list[dict[str, float]] = []
    monkeypatch.setattr(attempts, "read_scores", lambda db, a, sid, tests: scores.pop(0))

    def go(steps, gradebook):
        scores.extend(gradebook)
        worker = ScriptedWorker(steps)
        result = attempts.autograde(run, Student("ada", "ada", [], ""), folder, SlotEnv({}, {}, None, None), worker)
        assert not worker.steps and not scores, "every scripted step is used"
        return result, worker.skipped

    return go


DIED = "nbclient.exceptions.DeadKernelError: Kernel died"
START_FAILED = "RuntimeError: Kernel died before replying to kernel_info"


def test_graded_at_once(loop):
    attempt, skipped = loop([(["start nb:1\tcell 1"], 0, "ok")], [FULL])
    assert (attempt.failure, attempt.scores, attempt.skipped, attempt.notes) == (None, FULL, [], [])


def test_a_kernel_that_failed_to_start_is_started_again(loop):
    attempt, skipped = loop([([], 1, START_FAILED), ([], 1, START_FAILED), (["start nb:1\tcell 1"], 0, "")], [FULL])
    assert attempt.failure is None and attempt.scores == FULL and attempt.notes == []
    assert skipped == [[], [], []]


def test_kernel_starts_are_tried_three_times(loop):
    attempt, _ = loop([([], 1, START_FAILED)] * 3, [{}])
    assert attempt.failure.startswith("the Python kernel died while running the notebook")
    assert attempt.scores == {}


def test_the_cell_that_killed_the_kernel_is_skipped_and_named(loop):
    died = _log(DIED, event=events.MEMORY_LIMIT, megabytes=1024)
    attempt, skipped = loop([(["start nb:1\tcell 1 ('a')", "start nb:4\tcell 4 ('bomb')"], 1, died),
                             (["start nb:1\tcell 1 ('a')", "start nb:4\tcell 4 ('bomb')"], 0, "")],
                            [{"t1": 1.0}, {"t1": 1.0, "t2": 0.0}])
    assert skipped == [[], ["nb:4"]]
    assert attempt.failure is None and attempt.scores == {"t1": 1.0, "t2": 0.0} and attempt.skipped == ["nb:4"]
    assert attempt.notes == ["cell 4 ('bomb') was not graded: it used more than the 1024 MB memory limit; "
                             "the notebook was graded again without it"]


def test_a_hung_kernel_blames_the_first_cell_that_timed_out(loop):
    steps = [(["start nb:1\tcell 1", "start nb:2\tcell 2", "timeout nb:2", "start nb:3\tcell 3", "timeout nb:3"],
              None, "[grader] stopped"), (["start nb:1\tcell 1", "start nb:3\tcell 3"], 0, "")]
    attempt, skipped = loop(steps, [{}, FULL])
    assert skipped == [[], ["nb:2"]]
    assert attempt.notes == ["cell 2 was not graded: the notebook was still running after 310 s; "
                             "the notebook was graded again without it"]


def test_a_cell_is_skipped_once_then_the_notebook_fails(loop):
    attempt, skipped = loop([(["start nb:4\tcell 4"], 1, DIED)] * 2, [{}, {}])
    assert skipped == [[], ["nb:4"]]
    assert attempt.failure.startswith("the Python kernel died while running the notebook")
    assert attempt.scores == {} and attempt.skipped == ["nb:4"] and len(attempt.notes) == 1


def test_at_most_three_cells_are_skipped(loop):
    steps = [([f"start nb:{i}\tcell {i}"], 1, DIED) for i in (1, 2, 3, 4)]
    attempt, skipped = loop(steps, [{}] * 4)
    assert skipped == [[], ["nb:1"], ["nb:1", "nb:2"], ["nb:1", "nb:2", "nb:3"]]
    assert attempt.failure is not None and attempt.skipped == ["nb:1", "nb:2", "nb:3"]


def test_a_failure_without_a_dead_kernel_is_not_retried(loop):
    attempt, skipped = loop([(["start nb:1\tcell 1"], 1, "[AutogradeApp | ERROR] broken gradebook")], [{}])
    assert skipped == [[]]
    assert attempt.failure == "nbgrader could not autograde the notebook: [AutogradeApp | ERROR] broken gradebook"


def test_cells_stopped_by_the_timeout_are_noted(loop, tmp_path):
    autograded = tmp_path / "students" / "ada" / "autograded" / "ada" / "01_x"
    autograded.mkdir(parents=True)
    timeout = {"output_type": "error", "ename": "CellTimeoutError", "evalue": "", "traceback": []}
    nbformat.write(nbformat.v4.new_notebook(cells=[_output_cell("t2", timeout, "c1")]), autograded / "nb.ipynb")
    attempt, _ = loop([(["start nb:1\tcell 1"], 0, "")], [{"t1": 1.0, "t2": 0.0}])
    assert attempt.failure is None and attempt.notes == ["cell 't2' was stopped after 10 s"]


# nbgrader's own add_submission warns about its session's autoflush (as it does in every autograde log).
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_scores_are_read_as_nbgrader_finds_them(tmp_path):
    """One query (read_scores) against the oracle: nbgrader's own Gradebook.find_grade, cell by cell."""
    from nbgrader.api import Gradebook, MissingEntry

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    cells = [("nb", "t_auto"), ("nb", "t_zero"), ("nb", "t_manual"), ("nb", "t_unscored"), ("other", "t_auto")]
    with Gradebook(url) as gb:
        gb.add_assignment("01_x")
        gb.add_assignment("02_y")  # same cell names in another assignment: never read
        for assignment_name in ("01_x", "02_y"):
            for nb in ("nb", "other"):
                gb.add_notebook(nb, assignment_name)
            for nb, gid in cells:
                gb.add_grade_cell(gid, nb, assignment_name, max_score=3, cell_type="code")
        for sid in ("alice", "bob"):
            gb.add_student(sid)
            for assignment_name in ("01_x", "02_y"):
                gb.add_submission(assignment_name, sid)
        plan = {("alice", "01_x", "nb", "t_auto"): (2.0, False), ("alice", "01_x", "nb", "t_zero"): (0.0, False),
                ("alice", "01_x", "nb", "t_manual"): (1.0, True), ("alice", "01_x", "other", "t_auto"): (3.0, False),
                ("bob", "01_x", "nb", "t_auto"): (1.5, False), ("alice", "02_y", "nb", "t_unscored"): (3.0, False)}
        for (sid, assignment_name, nb, gid), (auto, manual) in plan.items():
            g = gb.find_grade(gid, nb, assignment_name, sid)
            g.auto_score, g.needs_manual_grade = auto, manual
        gb.db.commit()

    def oracle(student):
        found = {}
        with Gradebook(url) as gb:
            for t in tests:
                try:
                    g = gb.find_grade(t.grade_id, t.notebook, "01_x", student)
                except MissingEntry:
                    continue
                if g.auto_score is not None and not g.needs_manual_grade:
                    found[t.grade_id] = float(g.auto_score)
        return found

    tests = [assignment.TestCell(gid, nb, 3.0) for nb, gid in cells if nb == "nb"] + \
        [assignment.TestCell("t_absent", "nb", 1.0)]
    assert attempts.read_scores(url, "01_x", "alice", tests) == oracle("alice") == {"t_auto": 2.0, "t_zero": 0.0}
    assert attempts.read_scores(url, "01_x", "bob", tests) == oracle("bob") == {"t_auto": 1.5}
    assert attempts.read_scores(url, "01_x", "carol", tests) == oracle("carol") == {}  # never submitted
    other = [assignment.TestCell("t_auto", "other", 3.0)]
    assert attempts.read_scores(url, "01_x", "alice", other) == {"t_auto": 3.0}
    assert attempts.read_scores(f"sqlite:///{tmp_path / 'none.db'}", "01_x", "alice", tests) == {}
