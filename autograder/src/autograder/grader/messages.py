"""Why a test cell lost its points, in one line, read from the student's autograded notebook.

nbgrader scores a code test cell zero when its output has an error or anything on stderr
(``nbgrader.utils.determine_grade``), so that output is the reason. Only the exception's type and
the first line of its message are taken, never its traceback: a traceback through a test cell
quotes the lines around the failing call, which can be hidden tests (the feedback page cuts them
the same way, :class:`.preprocessors.ShortenTestTracebacks`). The course's checks
(``autograder/checks.py``) put the whole diagnosis on that first line.
"""

import re
from pathlib import Path

import nbformat

from .assignment import Assignment

MAX_CHARS = 500  # of one message; the checks' messages are shorter (the feedback page has the rest)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # IPython colours some error values


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (colour codes dropped), at most ``MAX_CHARS`` long."""
    line = next((part.strip() for part in ANSI.sub("", text).splitlines() if part.strip()), "")
    return line if len(line) <= MAX_CHARS else line[:MAX_CHARS - 1].rstrip() + "…"


def cell_message(cell: nbformat.NotebookNode) -> str:
    """Why this executed cell scores zero: its first error (``Type: first line``), else its first
    line on stderr; "" where its output shows neither."""
    outputs = cell.get("outputs", [])
    for output in outputs:
        if output.get("output_type") == "error":
            ename = str(output.get("ename", "") or "Error")
            evalue = first_line(str(output.get("evalue", "")))
            return first_line(f"{ename}: {evalue}" if evalue else ename)
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            text = output.get("text", "")
            line = first_line("".join(text) if isinstance(text, list) else str(text))
            if line:
                return first_line(f"printed to stderr: {line}")
    return ""


def read_messages(a: Assignment, autograded_dir: Path, scores: dict[str, float]) -> dict[str, str]:
    """Grade id -> why points were lost, for every test cell that scored less than its points and
    whose output says why (``autograded_dir`` holds the autograded ``<notebook>.ipynb`` files)."""
    lost = {t.grade_id for t in a.tests if scores.get(t.grade_id, 0.0) < t.points}
    messages: dict[str, str] = {}
    for nb_name in a.notebooks:
        try:
            nb = nbformat.read(Path(autograded_dir) / f"{nb_name}.ipynb", as_version=4)
        except Exception:  # noqa: BLE001 - no notebook, no messages: the page and the row still say the score
            continue
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and gid in lost and gid not in messages:
                message = cell_message(cell)
                if message:
                    messages[gid] = message
    return messages
