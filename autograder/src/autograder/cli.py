"""``python -m autograder``: the instructor's command line (argument parsing and dispatch only)."""

import argparse
import os
import sys
from pathlib import Path

from .errors import AutograderError, GraderError
from .grader.nbconfig import CELL_TIMEOUT


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p0 = argparse.ArgumentParser(prog="python -m autograder", description="The RNN course's instructor command line.")
    sub = p0.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate the student copies in exercises/ from solutions/")
    p.add_argument("assignment", nargs="*", help="assignment folder name(s) under solutions/ (default: all)")

    p = sub.add_parser("grade", help="autograde a class of submissions, write feedback and grades")
    p.add_argument("assignment", help="assignment folder name under solutions/, e.g. 01_rnn_forward")
    p.add_argument("submissions", type=Path,
                   help="folder or zip: <student>/<notebook>.ipynb folders, nbgrader's submitted/, or a "
                        "Canvas, Moodle, Blackboard or Gradescope download (detected)")
    p.add_argument("--out", type=Path, default=None,
                   help="where grades.csv, summary.csv/.md and feedback/ go (default autograder/grading/ASSIGNMENT)")
    p.add_argument("--timeout", type=positive_int, default=CELL_TIMEOUT, metavar="SECONDS",
                   help=f"seconds one cell may run (default {CELL_TIMEOUT})")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="students graded at the same time, each by a long-lived nbgrader worker process "
                        "(default: the number of CPU cores)")
    p.add_argument("--force", action="store_true",
                   help="re-grade every submission, also those unchanged since the last run into --out")
    p.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto",
                   help="run student code in the sandbox: auto (default: if it can be set up here, else "
                        "unsandboxed with a warning), require (stop if it cannot), off")
    p.add_argument("--db-url", default=None, metavar="URL",
                   help="a shared gradebook, e.g. postgresql+psycopg://USER@HOST/DB (default: a private "
                        "SQLite gradebook per student under --out)")
    p.add_argument("--memory", type=positive_int, default=4096, metavar="MB",
                   help="memory one submission may use while it is graded (default 4096)")
    p.add_argument("--scheduler", default=os.environ.get("AUTOGRADER_SCHEDULER") or None, metavar="ADDRESS",
                   help="grade on the workers of this Dask scheduler, e.g. tcp://HOST:8786 (default "
                        "$AUTOGRADER_SCHEDULER; none: grade here); --workers is then ignored (the workers' "
                        "--resources grade=N are the slots) and --db-url refused")
    p.add_argument("--canvas-gradebook", type=Path, default=None, metavar="EXPORT.csv",
                   help="Canvas' gradebook export (Grades > Export): write OUT/canvas_gradebook.csv with this "
                        "assignment's column filled, matched by Canvas user id, for Canvas' gradebook import")
    p.add_argument("--gradebook-column", default=None, metavar="TITLE",
                   help="the column of --canvas-gradebook to fill: its title, whole header or assignment id (default: "
                        "the column named like the assignment; if none is, a new column)")
    p.add_argument("--moodle-worksheet", type=Path, default=None, metavar="WORKSHEET.csv",
                   help="Moodle's offline grading worksheet (Download grading worksheet): write "
                        "OUT/moodle_worksheet.csv with its Grade column filled, for Upload grading worksheet")
    p.add_argument("--missing-zero", action="store_true",
                   help="students of the export without a submission get 0 where their cell is empty (default: "
                        "their cells are kept as exported)")

    p = sub.add_parser("gradescope", help="build a Gradescope autograder bundle (autograder.zip) that grades one "
                                          "submission with this grader")
    p.add_argument("assignment", help="assignment folder name under solutions/, e.g. 03_gradient_check")
    p.add_argument("--out", type=Path, default=None,
                   help="where autograder.zip goes (default autograder/grading/ASSIGNMENT)")
    p.add_argument("--timeout", type=positive_int, default=CELL_TIMEOUT, metavar="SECONDS",
                   help=f"seconds one cell may run (default {CELL_TIMEOUT})")
    p.add_argument("--memory", type=positive_int, default=4096, metavar="MB",
                   help="memory one submission may use while it is graded (default 4096)")
    p.add_argument("--visibility", choices=("visible", "after_due_date", "after_published", "hidden"),
                   default="visible", help="when students see each part's result on Gradescope (default visible)")

    p = sub.add_parser("reference", help="run an instructor notebook in full (not grading) mode and keep its "
                                         "results for the book (chapter 6's training run)")
    p.add_argument("assignment", nargs="*", help="assignment folder name(s) (default: those the book shows)")

    p = sub.add_parser("data", help="fetch MNIST into the data folder and verify its checksums")
    p.add_argument("--dir", type=Path, default=None, help="data folder (default: $RNN_COURSE_DATA or ./data)")
    return p0


def run_grade(args: argparse.Namespace) -> None:
    """``grade``: the output folder (made if needed), then the grading run."""
    from . import course_root
    from .grader import grade

    out = args.out
    if out is None:
        root = course_root()
        if root is None:
            raise GraderError("give --out: there is no course checkout to put autograder/grading/ASSIGNMENT in")
        out = root / "autograder" / "grading" / args.assignment
    out.mkdir(parents=True, exist_ok=True)
    from .grader import handback, load_assignment

    # the exports are read before grading: a wrong file costs no grading run
    plan = handback.check(out, args.assignment, canvas=args.canvas_gradebook, moodle=args.moodle_worksheet,
                          column=args.gradebook_column, missing_zero=args.missing_zero)
    results = grade(args.assignment, args.submissions, out, cell_timeout=args.timeout, workers=args.workers,
                    force=args.force, sandbox_mode=args.sandbox, memory_mb=args.memory, db_url=args.db_url,
                    scheduler=args.scheduler)
    if plan is not None:
        handback.hand_back(plan, load_assignment(args.assignment), results, out)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "release":
            from .grader import release

            release(args.assignment or None)
        elif args.command == "grade":
            run_grade(args)
        elif args.command == "gradescope":
            from .gradescope import build_bundle

            build_bundle(args.assignment, args.out, cell_timeout=args.timeout, memory_mb=args.memory,
                         visibility=args.visibility)
        elif args.command == "reference":
            from .reference import REFERENCE_RUNS, run

            for name in args.assignment or REFERENCE_RUNS:
                run(name)
        elif args.command == "data":
            from .data import fetch

            fetch(args.dir)
    except AutograderError as exc:  # the tool's own failures end here, with a message; bugs keep their traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
