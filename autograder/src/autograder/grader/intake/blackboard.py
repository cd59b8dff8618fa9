"""Blackboard Learn "Assignment File Download" (Grade Centre): flat files, every attempt, a receipt each.

Blackboard publishes no specification of these names; they are what the download holds, as the
public tools that read it parse them (https://github.com/vangef/BBGradebookOrganiser,
``utils/organiser.py``: the student is what precedes ``_attempt_`` after the last underscore, the
file's own name follows the date; its docs/instructions.md describes the download itself):

    <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>     a file of one attempt
    <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt             the receipt of that attempt

The receipt starts ``Name: <Full Name> (<username>)``, then the assignment, the date, the text and
comments the student typed, and the files. The username is what precedes ``_attempt_`` after the
last underscore, unless the receipt names a username holding underscores. The download offers
the last attempt or all of them; with several, the newest is graded and the row says so.
"""

import re

from .model import Found, Skipped, Tree, is_notebook

NAME = "blackboard"
DESCRIPTION = ("Blackboard 'Assignment File Download': flat files <assignment>_<username>_attempt_"
               "<YYYY-MM-DD-HH-MM-SS>_<file name> and a .txt receipt per attempt")

ATTEMPT = re.compile(r"^(?P<prefix>.+)_attempt_(?P<when>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"
                     r"(?:_(?P<orig>.+)|(?P<receipt>\.txt))$", re.DOTALL)
NAME_LINE = re.compile(r"^\s*Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)
RECEIPT_BYTES = 64 * 1024  # the first lines are what is read of a receipt


def recognises(tree: Tree) -> int:
    return sum(1 for p in tree.top_files() if ATTEMPT.match(p))


def when_shown(when: str) -> str:
    """``2026-10-02-14-00-05`` as ``2026-10-02 14:00:05``."""
    return f"{when[:10]} {when[11:].replace('-', ':')}"


def _receipt(tree: Tree, path: str) -> tuple[str, str] | None:
    """(full name, username) from the receipt's first line, or None."""
    try:
        with open(tree.root / path, "rb") as f:
            text = f.read(RECEIPT_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    m = NAME_LINE.search(text)
    return (m["name"], m["user"].strip()) if m else None


def parse(tree: Tree, assignment: str | None = None) -> tuple[list[Found], list[Skipped]]:
    skipped = [Skipped(tree.shown(d + "/"), "a folder (Blackboard downloads are flat)") for d in tree.top_dirs()]
    matched = []
    people: dict[str, tuple[str, str]] = {}  # the prefix before _attempt_ -> (full name, username), from receipts
    for path, why in [(p, None) for p in tree.top_files()] + tree.top_refused():
        m = ATTEMPT.match(path)
        if m is None:
            skipped.append(Skipped(tree.shown(path), why or "not named as Blackboard names an attempt's file"))
            continue
        matched.append((path, why, m))
        if m["receipt"] and why is None and (who := _receipt(tree, path)):
            people[m["prefix"]] = who
    students: dict[str, Found] = {}
    for path, why, m in matched:
        name, user = people.get(m["prefix"], ("", ""))
        if not user or not m["prefix"].endswith(f"_{user}"):
            user = m["prefix"].rpartition("_")[2]
        st = students.setdefault(user, Found(user, name or user, platform_id=user))
        attempt = st.attempt(when_shown(m["when"]))
        if m["receipt"]:
            if why is not None:
                st.notes.append(f"{path} {why}")
        elif why is not None:
            attempt.notes.append(f"{m['orig']} {why}")
        elif is_notebook(m["orig"]):
            attempt.files.append((path, m["orig"]))
        else:
            skipped.append(Skipped(tree.shown(path), "not a notebook"))
    return list(students.values()), skipped
