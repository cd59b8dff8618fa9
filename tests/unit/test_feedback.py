"""Feedback a student reads at a glance: each graded part by name with its points and why points were
lost, equations rendered with no network; the messages read from the autograded notebook and kept in
``result.json`` across runs."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.errors import GraderError
from autograder.grader import feedback, run
from autograder.grader.assignment import Assignment, assignment_names, cell_kind, load_assignment
from autograder.grader.assignment import TestCell as Part  # (a Test* name would be collected by pytest)
from autograder.grader.messages import MAX_CHARS, first_line, read_messages
from autograder.grader.results import Result, Status
from autograder.grader.submissions import Student
from autograder.grader.workspace import load_messages, save_result

VIS = Part("test_rnn_forward", "nb", 2.0, "visible checks")
HID = Part("test_rnn_forward_reference", "nb", 1.0, "hidden test")
ERR = Part("test_softmax", "nb", 3.0, "visible checks")
OTHER = Part("test_elsewhere", "other", 1.0)
A = Assignment("01_x", Path("/nowhere"), ["nb", "other"], [VIS, HID, ERR, OTHER],
               {"nb": {t.grade_id for t in (VIS, HID, ERR)}, "other": {"test_elsewhere"}}, 10)
# A line of a hidden test, as a traceback through its cell quotes it: it must reach no student.
HIDDEN_LINE = "assert np.allclose(h, _reference_forward(x, h0, Wx, Wh, b))"
MESSAGE = "h is wrong in 3 of 4 entries <at (0, 1)> & more. Hint: add b."


def _test_cell(t: Part, outputs: list) -> nbformat.NotebookNode:
    cell = new_code_cell(f"# {t.kind or 'checks'}\ncheck()", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": t.grade_id, "points": t.points}})
    cell.outputs = outputs
    return cell


def _autograded(folder: Path) -> Path:
    """An autograded notebook as nbgrader leaves it: the full traceback, before ShortenTestTracebacks."""
    nb = new_notebook(cells=[
        new_markdown_cell("Exercise: $h = \\tanh(x W_x + b)$"),
        _test_cell(VIS, [new_output("error", ename="AssertionError", evalue=f"\x1b[0;31m{MESSAGE}\x1b[0m\nsecond line",
                                    traceback=["Traceback (most recent call last):", f"----> 3 {HIDDEN_LINE}",
                                               f"AssertionError: {MESSAGE}"])]),
        _test_cell(HID, [new_output("stream", name="stderr", text="\n  RuntimeWarning: overflow in exp\nmore\n")]),
        _test_cell(ERR, [new_output("error", ename="AssertionError", evalue="", traceback=[HIDDEN_LINE])]),
    ])
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "nb.ipynb")
    return folder


def _result(**kw: object) -> Result:
    fields = dict(student="ada", submitted_as="ada", status=Status.GRADED,
                  scores={VIS.grade_id: 0.0, HID.grade_id: 0.0, ERR.grade_id: 3.0, OTHER.grade_id: 1.0},
                  reasons=[], flags=None, sandboxed=True, sandbox="root",
                  messages={VIS.grade_id: MESSAGE, HID.grade_id: "printed to stderr: RuntimeWarning: overflow"})
    return Result(**{**fields, **kw})


# nbgrader 0.9.6's page, reduced to what the grader rewrites: the table of contents of its template
# nbgrader/server_extensions/formgrader/templates/feedback/index.html.j2 and nbconvert 7's MathJax
# macro (share/jupyter/nbconvert/templates/base/mathjax.html.j2), as the venv installs them.
NBGRADER_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8"/>
<title>nb</title>
<!-- Loading mathjax macro -->
<!-- Load mathjax -->
<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"> </script>
<!-- MathJax configuration -->
<script type="text/x-mathjax-config">
    init_mathjax = function() {
        if (window.MathJax) {
            MathJax.Hub.Config({tex2jax: {inlineMath: [ ['$','$'], ["\\\\(","\\\\)"] ]}});
            MathJax.Hub.Queue(["Typeset", MathJax.Hub]);
        }
    }
    init_mathjax();
    </script>
<!-- End of mathjax configuration -->
</head>
<body>
<a name="top"></a>
<div class="container">
<div class="panel panel-default">
<div class="panel-heading">
<h4>nb (Score: 3.0 / 6.0)</h4>
<div id="toc">
<ol>
<li><a href="#test_rnn_forward">Test cell</a> (Score: 0.0 / 2.0)</li>
<li><a href="#test_rnn_forward_reference">Test cell</a> (Score: 0.0 / 1.0)</li>
<li><a href="#test_softmax">Test cell</a> (Score: 3.0 / 3.0)</li>
</ol>
</div>
</div>
<div class="panel-body"><p>Exercise: $h = \\tanh(x W_x + b)$</p>
<a name="test_rnn_forward"></a><div class="panel-heading">Grade cell: <code>test_rnn_forward</code></div>
</div></div></div>
</body>
</html>
"""


def test_a_part_is_named_by_its_grade_id_and_kind():
    assert VIS.title == "rnn_forward (visible checks)"
    assert HID.title == "rnn_forward_reference (hidden test)"
    assert OTHER.title == "elsewhere"
    assert cell_kind("\n# Hidden tests: against a reference\nx = 1") == "hidden test"
    assert cell_kind("# Visible check 1: a triangle") == "visible checks"
    assert cell_kind("x = 1  # Visible checks") == ""


@pytest.mark.parametrize("name", assignment_names())
def test_every_test_cell_of_the_course_says_what_kind_it_is(name):
    a = load_assignment(name)
    assert a.tests
    assert {t.grade_id: t.kind for t in a.tests if t.kind not in ("visible checks", "hidden test")} == {}


def test_messages_are_the_first_line_of_the_error_never_the_traceback(tmp_path):
    folder = _autograded(tmp_path / "autograded")
    scores = {VIS.grade_id: 0.0, HID.grade_id: 0.0, ERR.grade_id: 0.0}
    messages = read_messages(A, folder, scores)
    assert messages == {
        VIS.grade_id: f"AssertionError: {MESSAGE}",  # colour codes dropped, the second line too
        HID.grade_id: "printed to stderr: RuntimeWarning: overflow in exp",
        ERR.grade_id: "AssertionError",  # a bare assert: its type only, not the line that raised it
    }  # OTHER's notebook is missing: no message, no error
    assert HIDDEN_LINE not in json.dumps(messages)
    # Full marks: no message, whatever the output says.
    assert read_messages(A, folder, {VIS.grade_id: 2.0, HID.grade_id: 1.0, ERR.grade_id: 3.0}) == {}


def test_a_long_message_is_cut():
    long = first_line("x" * 2000)
    assert len(long) == MAX_CHARS and long.endswith("…")


def test_the_summary_names_every_part_with_points_and_why():
    page = feedback.readable_page(NBGRADER_PAGE, A, "nb", _result())
    toc = page[page.index('<div id="toc">'):page.index('<div class="panel-body">')]
    assert "Test cell" not in page
    assert toc.count("<li") == 3  # the parts of this notebook, not those of "other"
    assert ('<a href="#test_rnn_forward">rnn_forward (visible checks)</a>: <span class="points">0 / 2</span> '
            '<span class="why">h is wrong in 3 of 4 entries &lt;at (0, 1)&gt; &amp; more. Hint: add b.</span>') in toc
    assert "rnn_forward_reference (hidden test)</a>: <span class=\"points\">0 / 1</span>" in toc
    assert "printed to stderr: RuntimeWarning: overflow" in toc
    # Full marks: the points, and no message even where one was kept.
    full = feedback.readable_page(NBGRADER_PAGE, A, "nb", _result(messages={ERR.grade_id: "stale"}))
    assert '<li class="full"><a href="#test_softmax">softmax (visible checks)</a>: <span class="points">3 / 3</span>' \
           '</li>' in full and "stale" not in full
    assert page.index('<div id="toc">') < page.index("Grade cell:")  # still at the top


def test_equations_render_with_no_network():
    page = feedback.readable_page(NBGRADER_PAGE, A, "nb", _result())
    assert "cdnjs" not in page and "x-mathjax-config" not in page and "MathJax.Hub" not in page
    assert "<script src=" not in page  # nothing loaded from anywhere
    js = feedback.mathjax_js()
    assert "MathJax" in js and len(js) > 1_000_000  # the whole of tex-svg-full.js
    head = page[:page.index("</head>")]
    assert f'<script id="MathJax-script">{js}</script>' in head
    assert feedback.MATHJAX_CONFIG in head and head.index(feedback.MATHJAX_CONFIG) < head.index("MathJax-script")
    assert '["$", "$"]' in feedback.MATHJAX_CONFIG  # the notebooks write $...$ (MathJax 3 does not by default)
    assert "Exercise: $h = \\tanh(x W_x + b)$" in page  # left for MathJax to typeset


def test_a_page_of_another_shape_still_gets_the_summary_first():
    page = feedback.readable_page("<html><head></head><body class='x'><p>cells</p></body></html>", A, "nb", _result())
    assert page.index("rnn_forward (visible checks)") < page.index("<p>cells</p>")
    assert "MathJax-script" in page


def test_without_mathjax_the_grader_says_how_to_install_it(monkeypatch):
    feedback.mathjax_js.cache_clear()
    monkeypatch.setitem(sys.modules, "mathjax", None)  # import mathjax raises ImportError
    try:
        with pytest.raises(GraderError, match="django-static-mathjax"):
            feedback.mathjax_js()
    finally:
        feedback.mathjax_js.cache_clear()


def test_the_fallback_page_names_the_parts_the_same_way(tmp_path):
    result = _result(status=Status.UNGRADED, scores={}, messages={}, reasons=["no nb.ipynb in the submission"])
    path = tmp_path / "nb.html"
    feedback.fallback_feedback(path, A, result, result.reason)
    text = path.read_text()
    for t in A.tests:
        assert f"<td>{t.title}</td><td>0 / {t.points:g}</td>" in text
    assert "Test cell" not in text and "<script" not in text


def test_student_feedback_rewrites_nbgraders_page(tmp_path):
    sdir = tmp_path / "ada"
    for nb in A.notebooks:
        src = sdir / "feedback" / "ada" / A.name / f"{nb}.html"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(NBGRADER_PAGE)
    feedback.student_feedback(A, _result(), sdir)
    page = (sdir / "feedback" / "nb.html").read_text()
    assert "rnn_forward (visible checks)" in page and "Test cell" not in page and "cdnjs" not in page


def test_messages_survive_a_resumed_run(tmp_path):
    """``kept_results`` restores a saved result with its messages (the Gradescope results read them)."""
    work = tmp_path / "course"
    sdir = work / "students" / "ada"
    (sdir / "feedback").mkdir(parents=True)
    (sdir / "feedback" / "nb.html").write_text("page")
    result = _result(seconds=1.0)
    save_result(sdir, "fp", "digest", result.to_row(A), ["nb.html"], result.messages)
    assert load_messages(sdir) == result.messages
    grading = SimpleNamespace(work=work, fingerprint="fp", assignment=A, isolation=SimpleNamespace(on=True))
    kept, todo = run.kept_results(grading, [Student("ada", "ada", [], "digest")], force=False)
    assert todo == [] and kept["ada"].messages == result.messages
    assert load_messages(tmp_path / "nobody") == {}
