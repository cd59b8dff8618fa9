"""Build students' notebooks from the instructor notebook: correct ones and known-wrong ones.

A correct submission is the released student copy with each IMPLEMENT-ME stub replaced by the
instructor's code, exactly what a student who got everything right hands in. A known-wrong one
applies textual edits to that code; each edit must match exactly once, so that a change to the
solution that silently turns a mutant into a correct answer fails loudly instead.
"""

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def solution_code(source: str) -> str:
    """The instructor's code of a solution cell, markers dropped (what the student writes)."""
    lines = [line for line in source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
    return "\n".join(lines)


def marked_lines(source: str, kinds=("SOLUTION", "HIDDEN TESTS")):
    """Lines between ``### BEGIN <kind>`` and ``### END <kind>`` markers, for the given kinds."""
    out, inside = [], False
    for line in source.splitlines():
        if any(f"### BEGIN {k}" in line for k in kinds):
            inside = True
            continue
        if any(f"### END {k}" in line for k in kinds):
            inside = False
            continue
        if inside:
            out.append(line)
    return out


def unmarked_lines(source: str):
    """Lines outside every ``### BEGIN ...`` / ``### END ...`` block (marker lines excluded)."""
    out, depth = [], 0
    for line in source.splitlines():
        if "### BEGIN " in line:
            depth += 1
        elif "### END " in line:
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(line)
    return out


def load(assignment, notebook, where):
    return nbformat.read(ROOT / where / assignment / f"{notebook}.ipynb", as_version=4)


def without_metadata(nb):
    """A copy of ``nb`` with every cell's nbgrader metadata removed (a student's paste into a fresh notebook)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return nb


def correct_submission(assignment, notebook, edits=None):
    """The released notebook with every stub filled by the instructor's code, then ``edits`` applied.

    ``edits``: {grade_id of a solution cell: [(old, new), ...]}.
    """
    edits = dict(edits or {})
    solution = {c.metadata["nbgrader"]["grade_id"]: c for c in load(assignment, notebook, "solutions").cells
                if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(load(assignment, notebook, "exercises"))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solution:
            code = solution_code(solution[gid].source)
            cell_edits = edits.pop(gid, [])
            for old, new in cell_edits:
                count = code.count(old)
                assert count == 1, f"mutant edit {old!r} matches {count} times in cell {gid}"
                code = code.replace(old, new)
            if cell_edits:  # a known-wrong version must be wrong code, not a syntax error
                try:
                    compile(code, gid, "exec")
                except SyntaxError as exc:
                    raise AssertionError(f"mutant edits of cell {gid} make it invalid Python: {exc}") from None
            cell.source = code
    assert not edits, f"edits for unknown solution cells: {sorted(edits)}"
    return nb


def cheat_submission(assignment, notebook, prelude, functions=None):
    """The student copy with ``prelude`` at the top of the first solution cell and ``functions``
    ({grade_id of a solution cell: source}) as answers; other solution cells keep their stubs."""
    nb = load(assignment, notebook, "exercises")
    first = True
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        body = (functions or {}).get(meta.get("grade_id"), cell.source)
        cell.source = (prelude + "\n" if first else "") + body
        first = False
    return nb


# A student's own chapter-3 numerical_gradient (f() without argument, x perturbed in place and
# restored): defined in a later chapter's notebook it must change no hidden test's oracle.
CHAPTER_3_NUMERICAL_GRADIENT = '''def numerical_gradient(f, x, eps=1e-5):
    """Chapter 3's function: the gradient of f() with respect to x, by central differences (x changed in place, restored)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad
'''


def defined_before(function, code=CHAPTER_3_NUMERICAL_GRADIENT):
    """An edit that puts ``code`` in front of ``def function(`` (for ``correct_submission``)."""
    return (f"def {function}(", f"{code}\n\ndef {function}(")


def write(nb, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def raw(text: str, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def drop_cell(nb, grade_id):
    nb = copy.deepcopy(nb)
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    assert len(nb.cells) == before - 1, f"no cell {grade_id}"
    return nb


def rename_cell(nb, grade_id, new_id):
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"no cell {grade_id}"
    cells[0].metadata["nbgrader"]["grade_id"] = new_id
    return nb


def truncated_json(nb):
    text = json.dumps(nb)
    return text[: len(text) // 2]


def secret_lines(min_length=16, kinds=("SOLUTION", "HIDDEN TESTS")):
    """Every solution or hidden-test line of every assignment that the student copy does not show.

    Lines shorter than ``min_length`` (``return h``, ``else:``) are too common to mean anything.
    """
    visible = set()  # what any student copy shows is public (chapter 2 repeats chapter 1's signatures)
    for released in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        visible.update(notebook_lines(released))
    secret = set()
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(source, as_version=4).cells:
            for line in marked_lines(cell.source, kinds):
                line = line.strip()
                if len(line) >= min_length and line not in visible:
                    secret.add(line)
    return sorted(secret)


def notebook_lines(path):
    """The stripped source lines of every cell of a notebook."""
    return {line.strip() for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}


def hidden_test_lines(min_length=16):
    return secret_lines(min_length, kinds=("HIDDEN TESTS",))


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(path: Path) -> str:
    """What a reader sees of a file: the text of an HTML page (tags dropped, entities decoded)."""
    raw = Path(path).read_text(errors="replace")
    if Path(path).suffix != ".html":
        return raw
    parser = _Text()
    parser.feed(raw)
    parser.close()
    return "".join(parser.parts)
