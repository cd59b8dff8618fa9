"""A folder per student, and nbgrader's ``submitted/<student>/<assignment>/`` after ``nbgrader collect``.

The plain layout is ``<student>/<notebook>.ipynb`` (notebooks in sub-folders count too). nbgrader's
``collect`` writes ``submitted/<student>/<assignment>/`` with a ``timestamp.txt`` beside the
notebooks (https://nbgrader.readthedocs.io/en/stable/user_guide/managing_assignment_files.html);
a student folder holds one such folder per assignment collected, so only this assignment's is
read (another assignment's notebook must never be graded as this one's).

:func:`collect` (a student's folder: notebooks, what is skipped, what is refused) is shared with
the layouts that also give each student a folder (Moodle, Gradescope).
"""

from pathlib import PurePosixPath

from .model import Attempt, Found, Skipped, Tree, is_notebook
from .scan import LINK

NAME, NBGRADER = "folders", "nbgrader"
DESCRIPTION = "a folder per student: <student>/<notebook>.ipynb"
NBGRADER_DESCRIPTION = "nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb (after nbgrader collect)"
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}  # what nbgrader itself writes beside a submission


def collect(tree: Tree, folder: str, found: Found, attempt: Attempt, skipped: list[Skipped],
            why_skipped: str = "not a notebook") -> None:
    """Add the notebooks under ``folder`` to ``attempt`` (graded as their path inside ``folder``),
    the other files to ``skipped``, and what was refused under it (links...) to ``found``'s notes."""
    sub = tree.under(folder)
    for path in sub.files:
        if is_notebook(path):
            attempt.files.append((f"{folder}/{path}", path))
        else:
            skipped.append(Skipped(sub.shown(path), why_skipped))
    found.notes += [f"{path} {why}" for path, why in sub.refused]


def is_nbgrader(tree: Tree, assignment: str | None) -> bool:
    """Whether the student folders are nbgrader's: a ``timestamp.txt`` one level down, or (the
    assignment known) this assignment's folder in at least half of them."""
    tops = tree.top_dirs()
    if any(len(PurePosixPath(p).parts) == 3 and PurePosixPath(p).name == "timestamp.txt" for p in tree.files):
        return True
    if assignment:
        with_it = sum(1 for d in tops if assignment in tree.under(d).top_dirs())
        return with_it > 0 and 2 * with_it >= len(tops)
    return False


def parse(tree: Tree, assignment: str | None, nbgrader: bool = False) -> tuple[list[Found], list[Skipped]]:
    """One student per top folder; loose files and refused entries at the top are skipped."""
    skipped = [Skipped(tree.shown(p), "not in a student's folder") for p in tree.top_files()]
    found = []
    for path, why in tree.top_refused():
        if why == LINK and not is_notebook(path):  # a student's folder that is a link: a row that says so
            found.append(Found(path, path, notes=[f"{path} {why}"]))
        else:
            skipped.append(Skipped(tree.shown(path), why))
    for d in tree.top_dirs():
        st = Found(d, d)
        attempt = st.attempt()
        if nbgrader and assignment:
            mine, inside = f"{d}/{assignment}", tree.under(d)
            for other in inside.top_dirs():
                if other != assignment:
                    skipped.append(Skipped(tree.shown(f"{d}/{other}/"), "another assignment's folder"))
            skipped += [Skipped(tree.shown(f"{d}/{p}"), "not in the assignment's folder") for p in inside.top_files()]
            if assignment in inside.top_dirs():
                sub: list[Skipped] = []
                collect(tree, mine, st, attempt, sub)
                skipped += [s for s in sub if PurePosixPath(s.path).name not in NBGRADER_FILES]
            for p, why in inside.top_refused():  # this assignment's folder as a link: the row says so
                if p == assignment:
                    st.notes.append(f"{p} {why}")
                else:
                    skipped.append(Skipped(tree.shown(f"{d}/{p}"), why))
        else:
            collect(tree, d, st, attempt, skipped)
        found.append(st)
    return found, skipped
