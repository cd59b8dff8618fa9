"""A grading :class:`Result` as Gradescope's ``results.json``, with no hidden-test source in it.

The format is Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"): a top-level
``score``, ``output`` and ``tests``, each test with ``name``, ``number``, ``score``, ``max_score``,
``output`` and ``visibility``. One test per test cell of the assignment, in notebook order.

Everything a student reads here is text a student's code can influence (a failing check's message,
a notebook's name), so every string is scrubbed: one that contains a line of a hidden test is
replaced by a generic line (a submission that raises an exception quoting the hidden tests it
read gets nothing out). The top-level output is ``simple_format`` (newlines kept), HTML-escaped;
test outputs and names are plain ``text``.
"""

import html
import json
import os
from collections.abc import Iterable
from pathlib import Path

import nbformat

from ..grader.assignment import Assignment, TestCell
from ..grader.results import Result, Status

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MIN_HIDDEN_LINE = 8  # characters (stripped): shorter lines ("else:", "e = e") say nothing of a test
FULL_MARKS = "All checks of this part passed."
LOST = "Points were lost here: a check of this part failed."  # where the grader gave no message
SCRUBBED = "A check of this part failed (its message quoted the hidden tests and is not shown)."


def hidden_test_lines(a: Assignment) -> frozenset[str]:
    """Every line (stripped, of at least MIN_HIDDEN_LINE characters) of the hidden tests of ``a``."""
    lines: set[str] = set()
    for name in a.notebooks:
        nb = nbformat.read(a.source / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            inside = False
            for line in cell.source.splitlines():
                if HIDDEN_BEGIN in line:
                    inside = True
                elif HIDDEN_END in line:
                    inside = False
                elif inside and len(line.strip()) >= MIN_HIDDEN_LINE:
                    lines.add(line.strip())
    return frozenset(lines)


def scrub(text: str, hidden: Iterable[str], instead: str = SCRUBBED) -> str:
    """``text``, or ``instead`` where it contains a line of the hidden tests."""
    return instead if any(line in text for line in hidden) else text


def test_name(t: TestCell, several_notebooks: bool) -> str:
    """The part's readable name: its grade id without ``test_`` (and its notebook, where there are several)."""
    name = t.grade_id.removeprefix("test_")
    return f"{t.notebook}: {name}" if several_notebooks else name


def test_output(t: TestCell, r: Result, hidden: frozenset[str]) -> str:
    """What the student reads under one part: why nothing was graded, full marks, or why points were lost."""
    if r.status != Status.GRADED:
        return scrub(f"Not graded: {r.reasons[0] if r.reasons else 'the submission could not be graded'}.", hidden,
                     "Not graded.")
    if r.scores.get(t.grade_id, 0.0) >= t.points:
        return FULL_MARKS
    message = r.messages.get(t.grade_id, "").strip()
    return scrub(message, hidden) if message else LOST


def sandbox_note(r: Result) -> str:
    """Where the student's code ran ("" where nothing ran)."""
    if not r.sandbox:
        return ""
    if r.sandboxed:
        return f"Your code ran in the grader's sandbox: no network, no view of the grader's files ({r.sandbox})."
    return (f"Your code ran without the grader's sandbox ({r.sandbox}); Gradescope's container keeps each "
            "submission apart.")


def summary_output(a: Assignment, r: Result, hidden: frozenset[str]) -> str:
    """The top-level output: the score or why there is none, the grader's notes, the sandbox note."""
    if r.status == Status.GRADED:
        lines = [f"{a.name}: {r.score:g} of {a.max_score:g} points."]
        lines += [f"Note: {note}" for note in r.reasons]
    else:
        why = r.reasons[0] if r.reasons else "the grader gave no reason"
        lines = [f"This submission could not be graded: {why}"]
        lines += [f"Note: {note}" for note in r.reasons[1:]]
    if sandbox_note(r):
        lines.append(sandbox_note(r))
    return "\n".join(html.escape(scrub(line, hidden, "(a line quoting the hidden tests is not shown)"), quote=False)
                     for line in lines)


def results_json(a: Assignment, r: Result, *, visibility: str = "visible", hidden: frozenset[str] = frozenset(),
                 seconds: float | None = None) -> dict[str, object]:
    """The ``results.json`` document of one graded (or ungraded) submission."""
    several = len(a.notebooks) > 1
    tests = [{
        "name": test_name(t, several),
        "number": str(i),
        "score": r.scores.get(t.grade_id, 0.0) if r.status == Status.GRADED else 0.0,
        "max_score": t.points,
        "output": test_output(t, r, hidden),
        "visibility": visibility,
    } for i, t in enumerate(a.tests, 1)]
    doc: dict[str, object] = {
        "score": float(sum(t["score"] for t in tests)),
        "output": summary_output(a, r, hidden),
        "output_format": "simple_format",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",  # the grader's log is for the instructor
        "tests": tests,
        # Stored with the submission, not shown to students: what the instructor needs to trust the score.
        "extra_data": {"assignment": a.name, "status": str(r.status),
                       "reasons": [scrub(x, hidden) for x in r.reasons],
                       "flags": None if r.flags is None else [scrub(x, hidden) for x in r.flags],
                       "sandbox": r.sandbox_column},
    }
    if seconds is not None:
        doc["execution_time"] = round(seconds)
    return doc


def failure_json(why: str, hidden: frozenset[str] = frozenset()) -> dict[str, object]:
    """``results.json`` when the autograder itself failed: no score to give, and the student is told so
    (the first line of why; the whole of it is in the log, for the instructor)."""
    first = scrub((why.strip().splitlines() or ["no reason given"])[0][:300], hidden, "see the autograder log")
    return {
        "score": 0.0,
        "output": html.escape(f"The autograder could not grade this submission: {first}\nYour instructor can see "
                              "the details in the autograder log; you may resubmit or ask them.", quote=False),
        "output_format": "simple_format",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def write_results(path: Path, doc: dict[str, object]) -> None:
    """Write ``doc`` as ``path`` atomically (Gradescope never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
