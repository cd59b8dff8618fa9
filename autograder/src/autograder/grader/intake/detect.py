"""Which layout a download has: wrapping folders looked through, each platform's names counted.

A platform layout is chosen when its names are what the top of the input holds (the one that
recognises the most entries wins); otherwise the input is a folder per student, nbgrader's
``submitted/`` when its folders say so. When no student can be found at all, :func:`nothing_found`
says what was there and which layouts are understood.
"""

from collections import Counter
from pathlib import PurePosixPath
from types import ModuleType

from . import blackboard, canvas, folders, gradescope, moodle
from .model import Tree, is_notebook

PLATFORMS: tuple[ModuleType, ...] = (gradescope, moodle, blackboard, canvas)  # checked in this order on a tie
LAYOUTS = {
    folders.NAME: folders.DESCRIPTION,
    folders.NBGRADER: folders.NBGRADER_DESCRIPTION,
    **{m.NAME: m.DESCRIPTION for m in PLATFORMS},
}


def detect(tree: Tree, assignment: str | None) -> str:
    """The name of the layout of ``tree`` (a key of :data:`LAYOUTS`)."""
    counts = {m.NAME: m.recognises(tree) for m in PLATFORMS}
    best = max(counts, key=lambda name: counts[name])  # the first of the most: PLATFORMS' order
    if counts[best] > 0:
        return best
    return folders.NBGRADER if folders.is_nbgrader(tree, assignment) else folders.NAME


def _is_student_folder(tree: Tree, d: str, assignment: str | None) -> bool:
    """Whether the single folder ``d`` at the top is one student's (so not a wrapper to look through)."""
    inner = tree.under(d)
    if any(is_notebook(f) for f in inner.top_files()):
        return True
    if moodle.FOLDER.match(d) or gradescope.FOLDER.match(d):
        return True
    if (assignment and assignment in inner.top_dirs()) or any(
            PurePosixPath(f).name == "timestamp.txt" and f.count("/") == 1 for f in inner.files):
        return True  # one student's nbgrader folder
    return False


def unwrap(tree: Tree, assignment: str | None) -> Tree:
    """Look through folders that wrap the whole download (a zip of "Assignment 1/", Gradescope's
    ``assignment_<id>_export/``): while the top holds one folder and nothing else, and that folder
    is not itself a student's, and what it holds is a download's (student folders, or a platform's
    flat files), the tree becomes what it holds."""
    while len(tree.top_dirs()) == 1 and not tree.top_files() and not tree.top_refused():
        d = tree.top_dirs()[0]
        inner = tree.under(d)
        if not any(m.recognises(inner) for m in PLATFORMS):  # a platform's download inside: look through
            if _is_student_folder(tree, d, assignment) or not inner.top_dirs():
                break  # one student's folder (holding only other files, maybe)
        tree = inner
    return tree


def held(tree: Tree) -> str:
    """What a tree holds, in a few words and names."""
    files, dirs, refused = tree.files, tree.dirs, tree.refused
    kinds = Counter(PurePosixPath(f).suffix.lower() or "(no extension)" for f in files)
    text = (f"{len(files)} file(s) ({', '.join(f'{k} {n}' for k, n in kinds.most_common(5))})" if files
            else "no file") + f", {len(dirs)} folder(s)"
    if refused:
        text += f", {len(refused)} entr(ies) not read ({refused[0][0]} {refused[0][1]})"
    top = sorted(tree.top_dirs())[:3] + sorted(tree.top_files())[:3] + [p for p, _ in tree.top_refused()][:2]
    return text + (f"; at its top: {', '.join(repr(p) for p in top)}" if top else "")


def understood() -> str:
    return "The layouts understood are: " + "; ".join(LAYOUTS.values()) + "."


def nothing_found(shown: str, tree: Tree) -> str:
    """The message of a download in which no student was found: what it holds, what is understood."""
    return (f"no student found in {shown}: it holds {held(tree)}. {understood()} Give the folder or zip the "
            "platform gave you, or a folder with one sub-folder per student")


def no_notebook(shown: str, tree: Tree, layout: str, labels: list[str], notes: list[str]) -> str:
    """The message of a download whose students have, all of them, no notebook."""
    first = f" ({notes[0]})" if notes else ""
    return (f"no notebook found in {shown}: read as {LAYOUTS[layout]}, it names {len(labels)} student(s) "
            f"({', '.join(labels[:3])}{', ...' if len(labels) > 3 else ''}) but not one .ipynb file to grade{first}; "
            f"it holds {held(tree)}. {understood()}")
