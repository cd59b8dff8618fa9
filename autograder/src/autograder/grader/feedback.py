"""The feedback pages students get: nbgrader's (hidden tests removed), or a page that gives the reason."""

import html
import shutil
from pathlib import Path

from .assignment import Assignment
from .processes import run_tool
from .results import Result, Status
from .submissions import Student

FALLBACK_FEEDBACK = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback: {assignment}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
td,th{{padding:.2em .8em;text-align:left}}</style></head>
<body><h1>Feedback: {assignment}</h1>
<p><strong>Student:</strong> {student}</p>
<p><strong>Score:</strong> {score:g} / {max_score:g}</p>
<p><strong>Your submission could not be graded automatically.</strong> {reason}</p>
<p>Fix the problem (open the notebook, <em>Kernel &rarr; Restart &amp; Run All</em>, check that every
cell runs), then resubmit or talk to your instructor.</p>
<table><tr><th>test</th><th>points</th></tr>{rows}</table>
</body></html>
"""


def fallback_feedback(path: Path, a: Assignment, result: Result, reason: str) -> None:
    """A feedback page of our own: the score, the reason, and the points of every test cell."""
    rows = "".join(
        f"<tr><td>{html.escape(t.grade_id)}</td><td>{result.scores.get(t.grade_id, 0.0):g} / {t.points:g}</td></tr>"
        for t in a.tests
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FALLBACK_FEEDBACK.format(assignment=html.escape(a.name), student=html.escape(result.student),
                                             score=result.score, max_score=a.max_score, reason=html.escape(reason),
                                             rows=rows))


def student_feedback(a: Assignment, result: Result, sdir: Path) -> None:
    """Feedback pages of one student in ``sdir/feedback/``: nbgrader's, or a page giving the reason."""
    sid = result.student
    dest_dir = sdir / "feedback"
    dest_dir.mkdir(exist_ok=True)
    graded = result.status == Status.GRADED
    written = [sdir / "feedback" / sid / a.name / f"{nb}.html" for nb in a.notebooks]
    if graded and not all(p.is_file() for p in written):  # the worker could not write them
        run_tool(["generate_feedback", a.name, f"--student={sid}", "--force"], cwd=sdir,
                 log_path=sdir / "logs" / "generate_feedback.log")
    for nb_name, src in zip(a.notebooks, written):
        dest = dest_dir / f"{nb_name}.html"
        if graded and src.is_file():
            shutil.copyfile(src, dest)
        else:
            reason = result.reason or "feedback could not be generated"
            if graded:
                reason = f"graded, but nbgrader could not write feedback ({reason})"
            fallback_feedback(dest, a, result, reason)


def collect_feedback(a: Assignment, students: list[Student], work: Path, out: Path) -> None:
    """``out/feedback/<student>/<notebook>.html`` for exactly the students of this input."""
    feedback_out = out / "feedback"
    if feedback_out.exists():
        shutil.rmtree(feedback_out)
    for st in students:
        for nb_name in a.notebooks:
            dest = feedback_out / st.id / f"{nb_name}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "students" / st.id / "feedback" / f"{nb_name}.html", dest)
