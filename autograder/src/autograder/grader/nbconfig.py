"""The one place where the course's nbgrader settings live.

``nbgrader_config.py`` at the repository root calls :func:`configure` for the instructor's
own ``nbgrader`` commands; ``python -m autograder grade`` calls it in the config it writes for
each student's private course (:func:`.workspace.write_nbgrader_config`).
This module must import nothing heavy: nbgrader silently ignores a config file that raises.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traitlets.config import Config

COURSE_ID = "rnn-course"

# What a student sees where a solution was: nbgrader's ClearSolutions stub.
CODE_STUB = "# IMPLEMENT-ME\nraise NotImplementedError()"
TEXT_STUB = "IMPLEMENT-ME: write your answer here."

# Seconds one cell may run during autograding before it is interrupted.
CELL_TIMEOUT = 60


def configure(c: "Config", root: str | Path, *, source: str = "solutions", release: str = "exercises",
              work: str = "autograder/grading/course", db_path: str | Path | None = None, db_url: str | None = None,
              cell_timeout: int = CELL_TIMEOUT, skip_cells: Sequence[str] = (),
              skip_reasons: Sequence[str] = ()) -> "Config":
    """Fill the traitlets config ``c`` for a course rooted at ``root``."""
    root = Path(root).resolve()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.submitted_directory = f"{work}/submitted"
    c.CourseDirectory.autograded_directory = f"{work}/autograded"
    c.CourseDirectory.feedback_directory = f"{work}/feedback"
    c.CourseDirectory.solution_directory = f"{work}/released_solutions"
    c.CourseDirectory.source_with_tests_directory = f"{work}/source_with_tests"
    db = Path(db_path) if db_path else root / work / "gradebook.db"
    # A PostgreSQL gradebook (postgresql+psycopg://...) for several graders or grading machines.
    c.CourseDirectory.db_url = db_url or f"sqlite:///{db}"

    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB

    # Grading: bounded cells, deleted test cells come back, a hung kernel becomes zeros.
    c.Execute.timeout = cell_timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.raise_on_iopub_timeout = False
    c.BoundedExecute.skip_cells = list(skip_cells)
    c.BoundedExecute.skip_reasons = list(skip_reasons)
    c.OverwriteCells.add_missing_cells = True
    # Once the last cell has run, the kernel is stopped at once: a graceful shutdown costs a
    # kernel's exit hooks and up to a tenth of a second of polling per notebook, and nothing
    # graded depends on them (the sandbox's launcher takes its processes along).
    c.Execute.shutdown_kernel = "immediate"
    # nbgrader's Execute with a cap on each cell's output, a record of the cell being run (which
    # cell killed a dead kernel) and cells to skip on a second attempt: see autograder.grader.preprocessors.
    # Both output limits stay: BoundedExecute caps the bytes of each cell's output while it arrives
    # (100 MB printed never reach the worker's memory or the notebook); LimitOutput then cuts what
    # was kept to nbgrader's 1000 lines and 100 traceback lines (1 MB holds a hundred thousand short lines).
    c.Autograde.autograde_preprocessors = [
        "autograder.grader.preprocessors.BoundedExecute",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]

    # Feedback never shows hidden tests: not their source, not as traceback context.
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "nbgrader.preprocessors.ClearHiddenTests",
        "autograder.grader.preprocessors.ShortenTestTracebacks",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    # nbconvert's HTML exporter, its templates compiled once per worker process, not once per student.
    c.GenerateFeedback.exporter_class = "autograder.grader.exporters.FeedbackHTMLExporter"
    return c
