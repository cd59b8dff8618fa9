"""``python -m autograder``: the instructor's command line."""

import argparse
import sys
from pathlib import Path

from . import course_root


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.strip("`: "))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate the student copies in exercises/ from solutions/")
    p.add_argument("assignment", nargs="*", help="assignment folder name(s) under solutions/ (default: all)")

    p = sub.add_parser("grade", help="autograde a class of submissions, write feedback and grades")
    p.add_argument("assignment", help="assignment folder name under solutions/, e.g. 01_rnn_forward")
    p.add_argument("submissions", type=Path,
                   help="folder laid out <student>/<notebook>.ipynb, or a zip of such folders")
    p.add_argument("--out", type=Path, default=None,
                   help="where grades.csv, summary.csv/.md and feedback/ go (default autograder/grading/ASSIGNMENT)")
    p.add_argument("--timeout", type=int, default=None, help="seconds one cell may run (default from nbconfig)")
    p.add_argument("--workers", type=int, default=None,
                   help="students graded at the same time (default: the number of CPU cores)")
    p.add_argument("--force", action="store_true",
                   help="re-grade every submission, also those unchanged since the last run into --out")
    p.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto",
                   help="run student code in the sandbox: auto (default: if it can be set up here, else "
                        "unsandboxed with a warning), require (stop if it cannot), off")
    p.add_argument("--db-url", default=None, metavar="URL",
                   help="a shared gradebook, e.g. postgresql+psycopg://USER@HOST/DB (default: a private "
                        "SQLite gradebook per student under --out)")
    p.add_argument("--memory", type=int, default=4096, metavar="MB",
                   help="memory one submission may use while it is graded (default 4096)")

    p = sub.add_parser("reference", help="run an instructor notebook in full (not grading) mode and keep its "
                                         "results for the book (chapter 6's training run)")
    p.add_argument("assignment", nargs="*", help="assignment folder name(s) (default: those the book shows)")

    p = sub.add_parser("data", help="fetch MNIST into the data folder and verify its checksums")
    p.add_argument("--dir", type=Path, default=None, help="data folder (default: $RNN_COURSE_DATA or ./data)")

    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            from .grading import release

            release(args.assignment or None)
        elif args.command == "grade":
            from .grading import grade
            from .nbconfig import CELL_TIMEOUT

            out = args.out or (course_root() / "autograder" / "grading" / args.assignment)
            out.mkdir(parents=True, exist_ok=True)
            grade(args.assignment, args.submissions, out, cell_timeout=args.timeout or CELL_TIMEOUT,
                  workers=args.workers, force=args.force, sandbox=args.sandbox, memory_mb=args.memory,
                  db_url=args.db_url)
        elif args.command == "reference":
            from .reference import REFERENCE_RUNS, run

            for name in args.assignment or REFERENCE_RUNS:
                run(name)
        elif args.command == "data":
            from .data import fetch

            fetch(args.dir)
    except Exception as exc:  # noqa: BLE001 - the grader's own failures end here, with a message
        from .data import MnistDataError
        from .grading import GraderError
        from .reference import ReferenceRunError

        if isinstance(exc, (GraderError, MnistDataError, ReferenceRunError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    return 0
