"""BoundedExecute (output cap, progress, skipped cells) and ShortenTestTracebacks, without a kernel."""

import nbformat
import pytest

from autograder.grader import progress
from autograder.grader.preprocessors import SKIPPED_ENAME, BoundedExecute, ShortenTestTracebacks, cell_label

NOTE = "[the grader kept only the first 0 kB of this cell's output]"


def _msg(kind: str, **content: object) -> dict:
    return {"msg_type": kind, "content": content, "parent_header": {"msg_id": "m1"}, "header": {"msg_type": kind}}


@pytest.fixture
def ex():
    p = BoundedExecute(max_output_bytes=200)
    p.reset_execution_trackers()
    p.clear_before_next_output = False  # as nbclient sets it before each cell
    return p


def test_output_under_the_cap_is_kept_whole(ex):
    outs = []
    ex.output(outs, _msg("stream", name="stdout", text="a" * 100), None, 0)
    ex.output(outs, _msg("display_data", data={"text/plain": "x"}, metadata={}), None, 0)
    assert [o.output_type for o in outs] == ["stream", "display_data"]
    assert outs[0].text == "a" * 100


def test_stdout_past_the_cap_is_cut_once_then_dropped(ex):
    outs = []
    ex.output(outs, _msg("stream", name="stdout", text="a" * 100), None, 0)  # 130 bytes as JSON: 70 left
    ex.output(outs, _msg("stream", name="stdout", text="b" * 150), None, 0)
    assert ex.output(outs, _msg("stream", name="stdout", text="c" * 150), None, 0) is None
    assert ex.output(outs, _msg("display_data", data={"text/plain": "x" * 300}, metadata={}), None, 0) is None
    assert [o.text for o in outs] == ["a" * 100, "b" * 70 + f"\n{NOTE}\n"]


def test_stderr_and_errors_past_the_cap_always_leave_a_trace(ex):
    outs = []
    ex.output(outs, _msg("stream", name="stdout", text="a" * 300), None, 0)
    ex.output(outs, _msg("stream", name="stderr", text="warning"), None, 0)
    ex.output(outs, _msg("error", ename="ValueError", evalue="v" * 3000, traceback=[f"line {i}" for i in range(30)]),
              None, 0)
    assert [o.output_type for o in outs] == ["stream", "stream", "error"]
    assert outs[0].text == "a" * 200 + f"\n{NOTE}\n" and outs[1].text == f"\n{NOTE}\n"
    assert outs[2].evalue == "v" * 2000 and outs[2].traceback == [f"line {i}" for i in range(10, 30)]


def test_the_cap_is_per_cell(ex):
    outs0, outs1 = [], []
    ex.output(outs0, _msg("stream", name="stdout", text="a" * 300), None, 0)
    ex.output(outs1, _msg("stream", name="stdout", text="b" * 100), None, 1)
    assert outs1[0].text == "b" * 100


def _code(source: str, gid: str | None = None, grade: bool = False, solution: bool = False):
    cell = nbformat.v4.new_code_cell(source)
    if gid:
        cell.metadata["nbgrader"] = {"grade_id": gid, "grade": grade, "solution": solution, "points": 1 if grade else 0}
    return cell


def test_cells_are_labelled_by_grade_id_or_first_line():
    assert cell_label(_code("assert f() == 1", "test_f", grade=True), 3) == "cell 3 ('test_f')"
    assert cell_label(_code("\n\n  import os  \nos._exit(1)"), 4) == "cell 4 ('import os')"
    assert cell_label(_code("x" * 80), 5) == f"cell 5 ({'x' * 60!r})"
    assert cell_label(_code("   \n"), 6) == "cell 6"


def test_a_skipped_cell_is_not_run_and_says_why(tmp_path):
    path = tmp_path / "progress.txt"
    ex = BoundedExecute(progress_file=str(path), skip_cells=["nb:1", "nb:2"], skip_reasons=["first", "it hung"])
    cell = _code("while True: pass", "test_loop", grade=True)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="old")]
    cell, _ = ex.preprocess_cell(cell, {"unique_key": "nb"}, 2)  # no kernel: it must not try to run it
    assert [(o.output_type, o.ename, o.evalue) for o in cell.outputs] == \
        [("error", SKIPPED_ENAME, "the grader did not run this cell: it hung")]
    got = progress.read(path)
    assert got.started == ["nb:2"] and got.labels == {"nb:2": "cell 2 ('test_loop')"}


def test_feedback_tracebacks_of_test_cells_are_cut_to_their_last_line():
    error = {"output_type": "error", "ename": "AssertionError", "evalue": "h is wrong",
             "traceback": ["Traceback", "  hidden_expected = secret(x)", "AssertionError: h is wrong"]}
    test, answer, plain = _code("check()", "test_h", grade=True), _code("def f(): ...", "f", grade=True,
                                                                          solution=True), _code("1/0")
    for cell in (test, answer, plain):
        cell.outputs = [nbformat.v4.new_output(**error), nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb = nbformat.v4.new_notebook(cells=[test, answer, plain])
    nb, _ = ShortenTestTracebacks().preprocess(nb, {})
    assert nb.cells[0].outputs[0].traceback == ["AssertionError: h is wrong"]
    assert nb.cells[0].outputs[1].text == "hi"
    assert nb.cells[1].outputs[0].traceback == error["traceback"]  # the student's own answer cell
    assert nb.cells[2].outputs[0].traceback == error["traceback"]  # not a graded cell
