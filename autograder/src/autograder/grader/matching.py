"""A notebook whose nbgrader cell metadata was lost, matched to the assignment by the names its cells define.

nbgrader finds a student's answers by the ``grade_id`` in each cell's metadata. A student who
pastes their work into a fresh notebook, or whose editor drops cell metadata, hands in answers
nbgrader cannot see (and, with every grade id gone, a notebook nbgrader fails to autograde at all).
Here each answer cell whose grade id is missing is matched to the student's plain code cells by
the names the instructor's solution cell defines at top level (its functions and classes; its
assigned names where it defines neither): for each name, the student's last cell that defines it,
as running the notebook from top to bottom would leave it.

The notebook graded is then rebuilt from the assignment's released copy, so that the setup cell
and every test cell are there and run after the code they test:

- each answer cell holds the student's code: their own cell where its grade id was kept, else the
  matched cells (each student cell goes into one answer cell only, the first that needs it);
  an answer cell nothing matched keeps the released stub (graded as not answered);
- the student's other cells (helpers, imports, scratch work, text) are kept, in their order, each
  just before the first answer cell that holds code the student wrote after it, or at the end;
- the student's copies of the assignment's own cells (unchanged setup, test cells, text, stubs)
  and their cells that kept nbgrader metadata other than answers are dropped: the released copy
  has them (nbgrader restores locked cells from the gradebook anyway).

A notebook that lost no answer cell's grade id is graded as it is, as is one where nothing
matches a missing answer while some of the assignment's cells are still there (a deleted answer
cell: nbgrader grades it, restoring missing test cells).
"""

import ast
import copy
import re
from dataclasses import dataclass

from nbformat import NotebookNode

# Top-level definitions in a cell that does not parse (IPython magics, shell escapes, half-written code).
DEF_LINE = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
ASSIGN_LINE = re.compile(r"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
SUBMITTED_ID = "submitted-{}"  # the cell id of a student's cell kept in the rebuilt notebook


@dataclass(frozen=True)
class Names:
    """What a cell binds at top level, in source order."""
    defined: tuple[str, ...]  # functions and classes
    assigned: tuple[str, ...]  # names bound by an assignment


@dataclass(frozen=True)
class Answer:
    """An answer cell of the assignment and the names its solution defines."""
    grade_id: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """The student's cells that hold an answer whose grade id is missing."""
    grade_id: str
    cells: tuple[int, ...]  # indices of the student's cells placed in this answer cell (none: shared or not found)
    found: tuple[str, ...]  # the answer's names some student cell defines
    not_found: tuple[str, ...]  # the answer's names no student cell defines
    shared: tuple[str, ...] = ()  # earlier answer cells that hold a cell defining some of its names


@dataclass(frozen=True)
class Rebuilt:
    notebook: NotebookNode
    notes: list[str]  # for the student's row


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def top_level_names(source: str) -> Names:
    """The functions, classes and assigned names ``source`` binds at top level; where it does not
    parse, the ``def``/``class``/``name =`` lines that start at column 0."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: a null byte in the source
        return Names(_unique(DEF_LINE.findall(source)), _unique(ASSIGN_LINE.findall(source)))
    defined, assigned = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if node.value else []
            for target in targets:
                assigned += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return Names(_unique(defined), _unique(assigned))


def answer_names(source: str) -> tuple[str, ...]:
    """The names an instructor's solution cell is recognised by: its functions and classes, or,
    where it defines none, the names it assigns."""
    names = top_level_names(source)
    return names.defined or names.assigned


def grade_id(cell: NotebookNode) -> str | None:
    return (cell.metadata.get("nbgrader") or {}).get("grade_id")


def answers(solution: NotebookNode) -> list[Answer]:
    """The answer cells (``nbgrader.solution``) of the instructor's notebook, in order."""
    return [Answer(grade_id(c), answer_names(c.source) if c.cell_type == "code" else ())
            for c in solution.cells if (c.metadata.get("nbgrader") or {}).get("solution") and grade_id(c)]


def normalized(source: str) -> str:
    """A cell's source compared with the assignment's: trailing blanks and blank edges ignored."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def match_answers(cells: list[NotebookNode], missing: list[Answer],
                  ignore: frozenset[str] = frozenset()) -> list[Match]:
    """Match each answer in ``missing`` (assignment order) to the student's plain code cells.

    Candidates are code cells without a grade id whose source (:func:`normalized`) is not in
    ``ignore`` (the assignment's own cells: an untouched stub is no answer). A name is matched to
    the last candidate that defines it; each cell is placed once, in the first answer needing it.
    """
    last: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or grade_id(cell) or normalized(cell.source) in ignore:
            continue
        names = top_level_names(cell.source)
        for name in names.defined + names.assigned:
            last[name] = index
    owner: dict[int, str] = {}  # student cell -> the answer cell it was placed in
    matches = []
    for answer in missing:
        found = tuple(n for n in answer.names if n in last)
        wanted = {last[n] for n in found}
        mine = sorted(wanted - owner.keys())
        shared = _unique([owner[i] for i in sorted(wanted & owner.keys())])
        owner.update(dict.fromkeys(mine, answer.grade_id))
        matches.append(Match(answer.grade_id, tuple(mine), found, tuple(n for n in answer.names if n not in last),
                             shared))
    return matches


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _notes(matches: list[Match], kept: int) -> list[str]:
    matched = [m for m in matches if m.found]
    notes = []
    if matched:
        names = ", ".join(n for m in matched for n in m.found)
        notes.append(f"nbgrader metadata was missing: {len(matched)} answer {_plural(len(matched), 'cell', 'cells')} "
                     f"matched by the names {_plural(len(matched), 'it defines', 'they define')} ({names})"
                     + (f", {kept} other {_plural(kept, 'cell', 'cells')} of the notebook kept" if kept else ""))
    not_found = [n for m in matches for n in m.not_found]
    unnamed = [m.grade_id for m in matches if not m.found and not m.not_found]
    if not_found or unnamed:
        what = ", ".join(not_found + [f"answer cell {gid!r}" for gid in unnamed])
        lead = "" if matched else "nbgrader metadata was missing and "
        notes.append(f"{lead}no cell of the notebook defines {what}: graded as not answered")
    return notes


def restore_answers(nb: NotebookNode, solution: NotebookNode, released: NotebookNode) -> Rebuilt | None:
    """The notebook to grade in place of ``nb`` (nbgrader metadata already cleaned), rebuilt from
    the ``released`` copy with the student's answers matched by name; None: grade ``nb`` as it is."""
    all_answers = answers(solution)
    answer_ids = {a.grade_id for a in all_answers}
    released_ids = {gid for gid in map(grade_id, released.cells) if gid}
    own = {}  # grade id -> index of the student's cell that still carries it
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid in released_ids and gid not in own:
            own[gid] = index
    missing = [a for a in all_answers if a.grade_id not in own and a.grade_id in released_ids]
    if not missing:
        return None
    copies = frozenset(normalized(c.source) for c in released.cells)
    matches = match_answers(nb.cells, missing, copies)
    if not any(m.found for m in matches) and own:
        return None  # a deleted answer cell, nothing else: nbgrader grades the notebook as it is

    placed = {index: gid for gid, index in own.items() if gid in answer_ids}  # student cell -> its answer cell
    placed.update({index: m.grade_id for m in matches for index in m.cells})
    position = {grade_id(c): k for k, c in enumerate(released.cells) if grade_id(c)}
    before: dict[int, list[NotebookNode]] = {}
    kept = 0
    for index, cell in enumerate(nb.cells):
        if index in placed or grade_id(cell) in released_ids or not cell.source.strip() \
                or normalized(cell.source) in copies:
            continue
        later = [position[gid] for j, gid in placed.items() if j > index]
        cell = copy.deepcopy(cell)
        cell.pop("id", None)
        if released.get("nbformat_minor", 0) >= 5:  # cell ids exist from nbformat 4.5 on, unique in a notebook
            cell["id"] = SUBMITTED_ID.format(index)
        before.setdefault(min(later, default=len(released.cells)), []).append(cell)
        kept += 1

    by_id = {m.grade_id: m for m in matches}
    cells = []
    for k, rcell in enumerate(released.cells):
        cells += before.get(k, [])
        gid = grade_id(rcell)
        rcell = copy.deepcopy(rcell)
        if gid in answer_ids and gid in own:
            rcell.source = nb.cells[own[gid]].source
        elif gid in by_id and by_id[gid].cells:
            rcell.source = "\n\n".join(nb.cells[i].source.strip("\n") for i in by_id[gid].cells)
        elif gid in by_id and by_id[gid].found:  # one cell of the student's held this answer and an earlier one
            where = ", ".join(repr(g) for g in by_id[gid].shared)
            rcell.source = f"# {', '.join(by_id[gid].found)}: defined above, in the answer cell {where}"
        cells.append(rcell)
    cells += before.get(len(released.cells), [])
    rebuilt = copy.deepcopy(released)
    rebuilt.cells = cells
    return Rebuilt(rebuilt, _notes(matches, kept))
