"""Hand-back: the platform's own gradebook file with this assignment's grades in it, ready for its import.

``grade ... --canvas-gradebook EXPORT.csv`` writes ``OUT/canvas_gradebook.csv`` (:mod:`.canvas`),
``--moodle-worksheet WORKSHEET.csv`` writes ``OUT/moodle_worksheet.csv`` (:mod:`.moodle`): copies of
the instructor's file (never the file itself) with one column filled and every other cell as it
came (:mod:`.table`), and ``OUT/handback.md`` saying what was done and what to look at.

The rules (:mod:`.match`):

- students are matched by their platform id only (Canvas user id, Moodle participant number),
  which intake keeps in ``grades.csv``'s ``platform_id``; submissions without one (a plain folder
  per student) cannot be matched, and a run that matches nobody is an error (exit 2), not a file
  of empty cells;
- a submitter gets their score, also when it could not be graded (0, or the points of the cells
  that ran: ``grades.csv`` says why), scaled to the platform's maximum for the assignment when it
  differs; such submissions, and flagged ones, are listed;
- a student of the export without a submission keeps the cell as exported (empty, or a grade the
  platform already has: an empty cell would erase it in Canvas), or gets 0 with ``--missing-zero``
  where the cell is empty (an excused ``EX`` or an existing grade is kept);
- submitters missing from the export are listed (log and ``handback.md``).

The exports are read before grading starts (:func:`check`), so a wrong file costs no grading run.
"""

from dataclasses import dataclass
from pathlib import Path

from ...errors import GraderError
from ..assignment import Assignment
from ..results import Result
from .canvas import CanvasGradebook
from .match import Report
from .moodle import MoodleWorksheet

CANVAS_COPY, MOODLE_COPY, REPORT = "canvas_gradebook.csv", "moodle_worksheet.csv", "handback.md"

__all__ = ["CANVAS_COPY", "MOODLE_COPY", "REPORT", "HandBack", "Report", "check", "hand_back"]


@dataclass
class HandBack:
    """The exports to fill after grading, read and checked."""
    canvas: CanvasGradebook | None
    moodle: MoodleWorksheet | None
    column: str | None  # --gradebook-column
    missing_zero: bool


def _copy_path(source: Path, out: Path, name: str) -> Path:
    dest = Path(out) / name
    if dest.resolve() == Path(source).resolve():
        raise GraderError(f"{source} is where the filled copy goes ({name} in --out): keep the platform's file "
                          "elsewhere, so that it is never overwritten")
    return dest


def check(out: Path, assignment: str, *, canvas: Path | None = None, moodle: Path | None = None,
          column: str | None = None, missing_zero: bool = False) -> HandBack | None:
    """Read and check the exports given (None: no hand-back asked for); GraderError for a file that will not do."""
    if column and canvas is None:
        raise GraderError("--gradebook-column chooses the column of --canvas-gradebook: give that too")
    if canvas is None and moodle is None:
        if missing_zero:
            raise GraderError("--missing-zero applies to --canvas-gradebook or --moodle-worksheet: give one")
        return None
    plan = HandBack(None if canvas is None else CanvasGradebook.read(canvas),
                    None if moodle is None else MoodleWorksheet.read(moodle), column, missing_zero)
    if plan.canvas is not None:
        _copy_path(plan.canvas.source, out, CANVAS_COPY)
        plan.canvas.column_for(assignment, column)  # an ambiguous or unknown column is an error now, not later
    if plan.moodle is not None:
        _copy_path(plan.moodle.source, out, MOODLE_COPY)
    return plan


def hand_back(plan: HandBack, a: Assignment, results: list[Result], out: Path, log=print) -> list[Report]:
    """Fill the copies; log what was done and write it to ``out/handback.md``."""
    reports = []
    if plan.canvas is not None:
        reports.append(plan.canvas.fill(a, results, _copy_path(plan.canvas.source, out, CANVAS_COPY), plan.column,
                                        plan.missing_zero))
    if plan.moodle is not None:
        reports.append(plan.moodle.fill(a, results, _copy_path(plan.moodle.source, out, MOODLE_COPY),
                                        plan.missing_zero))
    md = [f"# {a.name}: grades handed back", ""]
    for report in reports:
        first, *rest = report.lines()
        for line in [first, *rest]:
            log(line)
        md += [first, ""] + [f"- {line.strip()}" for line in rest] + ([""] if rest else [])
    (Path(out) / REPORT).write_text("\n".join(md))
    return reports
