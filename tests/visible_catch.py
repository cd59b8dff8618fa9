"""How many of a chapter's known-wrong versions does a student see fail *before* submitting?

Runs each known-wrong version of the chapter's fixture class (``tests/test_grade_<NN>_*.py``,
``CH.mutants``) as a student has it: the released student copy, its stubs filled with that
version's code, its test cells holding only the visible checks. The setup, solution and test
cells run in order in a fresh namespace (free-form cells, such as a training demo, are skipped);
a version is *caught* when at least one visible test cell raises.

    .venv/bin/python tests/visible_catch.py 04_gated_cells [--json OUT]

prints one line per version and the share caught; ``tests/test_visible_checks.py`` asserts it.
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def chapter(assignment):
    """The ``Chapter`` of ``assignment`` from its grading test module."""
    sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("test_grade_*.py")):
        module = importlib.import_module(path.stem)
        ch = getattr(module, "CH", None)
        if ch is not None and ch.assignment == assignment:
            return ch
    raise SystemExit(f"no tests/test_grade_*.py describes {assignment}")


class _Timeout(Exception):
    pass


def run_visible(nb, seconds):
    """Run a student notebook's nbgrader cells (each for at most ``seconds``); return the grade ids
    of the test cells that raised, with why."""
    from autograder.crosscheck.child import plain_python

    def alarm(signum, frame):
        raise _Timeout(f"cell took longer than {seconds} s")

    namespace = {"__name__": "__main__"}
    failed = {}
    signal.signal(signal.SIGALRM, alarm)
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta:
            continue
        try:
            signal.alarm(seconds)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(plain_python(cell.source), f"<cell {index}>", "exec"), namespace)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - a failing cell is what we are counting
            if meta.get("grade"):
                failed[meta["grade_id"]] = f"{type(exc).__name__}: {str(exc)[:160]}"
        finally:
            signal.alarm(0)
    return failed


def measure(assignment, only=None):
    """{version: {test cell: why it failed}} for every known-wrong version of ``assignment``."""
    import submissions as subs

    ch = chapter(assignment)
    out = {}
    for name, (edits, _lost) in sorted(ch.mutants.items()):
        if only and name not in only:
            continue
        nb = subs.correct_submission(ch.assignment, ch.notebook, edits)
        out[name] = run_visible(nb, max(10, 2 * ch.timeout))  # grading gives a cell ch.timeout
    return out


def main(argv=None):
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--only", nargs="*", help="just these known-wrong versions")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = measure(args.assignment, args.only)
    for name, failed in results.items():
        first = next(iter(failed.items()), None)
        print(f"{'caught ' if failed else 'MISSED '} {name}" + (f"  [{first[0]}] {first[1]}" if first else ""))
    caught = sum(1 for failed in results.values() if failed)
    share = caught / len(results) if results else 0.0
    print(f"{args.assignment}: {caught} of {len(results)} known-wrong versions caught by a visible check ({share:.0%})")
    if args.json:
        args.json.write_text(json.dumps({"assignment": args.assignment, "caught": caught, "total": len(results),
                                         "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
