"""``python -m autograder.gradescope.run``: what the bundle's ``run_autograder`` runs, once per submission.

The student's notebooks (anywhere under ``ROOT/submission``, whatever their names) are copied into a
one-student folder and graded by :func:`autograder.grader.grade`, exactly as ``python -m autograder
grade`` grades a class: one worker, ``--sandbox auto`` (Gradescope's container is the isolation
where bubblewrap cannot start there; the output says which held). ``ROOT/results/results.json`` is
always written, also when there is nothing to grade or the grader itself fails (then with the reason),
as Gradescope asks (https://gradescope-autograders.readthedocs.io/en/latest/best_practices/).
What the grader logs goes to stdout, which Gradescope shows the instructor only.
"""

import shutil
import sys
import time
import traceback
from pathlib import Path

from ..errors import AutograderError
from ..grader import grade, load_assignment
from ..grader.assignment import Assignment
from ..grader.results import Result, Status
from .results import failure_json, hidden_test_lines, results_json, write_results
from .settings import BundleSettings, Layout

STUDENT = "student"  # the one student's folder name in the grading run


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def collect_notebooks(submission: Path, dest: Path) -> tuple[list[Path], list[str]]:
    """Copy every notebook under ``submission`` into ``dest`` (one folder: the shallowest of two with
    the same name wins); return (the copies, the names of the other files seen). Links are not followed."""
    dest.mkdir(parents=True, exist_ok=True)
    copied: dict[str, Path] = {}
    others: list[str] = []
    found = sorted(submission.rglob("*"), key=lambda p: (len(p.relative_to(submission).parts), str(p))) \
        if submission.is_dir() else []
    for path in found:
        rel = path.relative_to(submission)
        if _skipped(rel) or path.is_symlink() or not path.is_file():
            continue
        if path.suffix.lower() != ".ipynb":
            others.append(str(rel))
        elif path.name not in copied:
            copied[path.name] = dest / path.name
            shutil.copyfile(path, copied[path.name])
    return sorted(copied.values()), others


def nothing_to_grade(a: Assignment, others: list[str]) -> Result:
    """The result of a submission without a notebook (nothing ran)."""
    seen = ", ".join(others[:10]) + (f" and {len(others) - 10} more" if len(others) > 10 else "") if others else "none"
    wanted = ", ".join(f"{name}.ipynb" for name in a.notebooks)
    return Result(student=STUDENT, submitted_as=STUDENT, status=Status.UNGRADED, scores={},
                  reasons=[f"no notebook (.ipynb) in the submission (files received: {seen}); upload {wanted}"],
                  flags=None, sandboxed=False, sandbox="")


def grade_submission(layout: Layout, settings: BundleSettings, a: Assignment) -> Result:
    """Grade the submission in ``layout`` (its scratch space emptied first)."""
    shutil.rmtree(layout.work, ignore_errors=True)
    submissions = layout.work / "submissions"
    copied, others = collect_notebooks(layout.submission, submissions / STUDENT)
    print(f"submission: notebooks {[p.name for p in copied]}, other files {others}")
    if not copied:
        return nothing_to_grade(a, others)
    results = grade(a.name, submissions, layout.work / "out", root=layout.source, workers=1, force=True,
                    sandbox_mode="auto", cell_timeout=settings.cell_timeout, memory_mb=settings.memory_mb)
    if len(results) != 1:
        raise AutograderError(f"expected one graded submission, the grader returned {len(results)}")
    return results[0]


def main() -> int:
    """Grade, write results.json; 0 once it is written (also with a failure in it)."""
    t0 = time.monotonic()
    layout = Layout.from_env()
    hidden: frozenset[str] = frozenset()
    try:
        settings = BundleSettings.load(layout.source)
        a = load_assignment(settings.assignment, layout.source)
        hidden = hidden_test_lines(a)
        result = grade_submission(layout, settings, a)
        doc = results_json(a, result, visibility=settings.visibility, hidden=hidden, seconds=time.monotonic() - t0)
        print(f"{a.name}: {doc['score']:g} of {a.max_score:g}, {result.status}; reasons: {result.reasons}; "
              f"flags: {result.flags}; sandbox: {result.sandbox_column}")
        if result.flags:
            print(f"FLAGGED by the cross-check (look at this submission before publishing): {result.flags}")
    except Exception as exc:  # noqa: BLE001 - whatever happens, the student gets a results.json with the reason
        traceback.print_exc()
        why = str(exc) if isinstance(exc, AutograderError) else f"internal error ({type(exc).__name__})"
        doc = failure_json(why, hidden)
    write_results(layout.results, doc)
    print(f"wrote {layout.results} in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
