"""How fast `python -m autograder grade` grades a class: submissions per minute, 1 and N workers.

Generates a class of chapter 1 submissions (70% correct, 20% known-wrong, 10% blank student
copies, the mix a real deadline sees), then grades it from scratch (`--force`) with each worker
count and prints the figures. Goal (issue 5): 100 numpy-chapter submissions in under 5 minutes
on a 2-core machine.

    .venv/bin/python benchmarks/grading_throughput.py [--n 100] [--workers 1 2] [--timeout 30] [--no-postgres]

Each worker count is measured with SQLite gradebooks (one per student, the grader's default) and
with one shared PostgreSQL gradebook (`grade --db-url`) on a throw-away server that the script
starts (Debian's postgresql; `--no-postgres` skips it).
"""

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's submission builders (correct, known-wrong)

A, NB = "01_rnn_forward", "rnn_forward"
WRONG = [
    {"rnn_step_forward": [("x @ Wxh + h_prev @ Whh + bh", "x @ Wxh + bh")]},
    {"output_forward": [("h @ Why + by", "h @ Why")]},
    {"softmax": [("shifted = scores - scores.max(axis=-1, keepdims=True)", "shifted = scores")]},
]


def make_class(folder: Path, n: int):
    import submissions as subs

    correct = subs.correct_submission(A, NB)
    blank = (ROOT / "exercises" / A / f"{NB}.ipynb").read_text()
    for i in range(n):
        path = folder / f"student_{i:03d}" / f"{NB}.ipynb"
        kind = i % 10
        if kind == 9:
            subs.raw(blank, path)
        elif kind in (7, 8):
            subs.write(subs.correct_submission(A, NB, WRONG[i % len(WRONG)]), path)
        else:
            subs.write(correct, path)


def grade(folder: Path, out: Path, workers: int, timeout: int, db_url=None):
    from autograder.grader.processes import tool_env

    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", A, str(folder), "--out", str(out),
                           "--workers", str(workers), "--timeout", str(timeout), "--force",
                           *(["--db-url", db_url] if db_url else [])],
                          cwd=ROOT, env=tool_env(), capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"grading failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    sandbox = "on" if all(r["sandbox"].startswith("on (") for r in rows) else "OFF"
    return seconds, rows, sandbox


def main():
    from autograder.grader.processes import cpu_count

    cores = cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="submissions in the class (default 100)")
    parser.add_argument("--workers", type=int, nargs="+", default=sorted({1, cores}),
                        help=f"worker counts to measure (default: 1 and {cores})")
    parser.add_argument("--timeout", type=int, default=30, help="cell timeout in seconds (default 30)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite gradebooks only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, args.n)
        print(f"chapter 1 ({A}), {args.n} submissions, {cores} cores")
        print(f"{'gradebook':>10}  {'workers':>7}  {'seconds':>8}  {'per minute':>10}  {'flagged':>7}  sandbox")

        def measure(label, db_url=None):
            for workers in args.workers:
                seconds, rows, sandbox = grade(folder, Path(tmp) / f"out-{label}-{workers}", workers, args.timeout,
                                               db_url)
                assert len(rows) == args.n, f"{len(rows)} rows for {args.n} submissions"
                flagged = sum(1 for r in rows if r["flagged"] == "yes")
                print(f"{label:>10}  {workers:>7}  {seconds:>8.1f}  {args.n / seconds * 60:>10.1f}  {flagged:>7}  "
                      f"{sandbox}", flush=True)

        measure("SQLite")
        if args.no_postgres:
            return
        import pgserver

        try:
            with pgserver.temporary_server(port=54331) as url:
                measure("PostgreSQL", url)
        except pgserver.Unavailable as exc:
            print(f"PostgreSQL: not measured ({exc})")


if __name__ == "__main__":
    main()
