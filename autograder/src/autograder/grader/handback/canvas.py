"""Canvas: this assignment's column of a gradebook export filled, for Canvas' gradebook import.

The file's shape is Canvas' own (instructure/canvas-lms, ``lib/gradebook_exporter.rb`` writes it,
``app/models/gradebook_importer.rb`` reads it back); the instructor's steps are
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807:

- header: ``Student`` (or ``LastName, FirstName``), ``ID``, [``SIS User ID``], ``SIS Login ID``,
  [``Integration ID``, ``Root Account``], ``Section``, custom columns, one column per assignment
  titled ``Name (assignment id)``, then read-only totals (``Current Score``, ``Final Points``, ...);
- sometimes a row whose cells are empty or ``Manual Posting`` (assignments posted manually);
- a row starting ``    Points Possible``: each assignment's points, ``(read only)`` under totals;
- one row per student: the Canvas user id in ``ID``; a score, ``EX`` (excused) or ``N/A`` (not
  assigned to that student) per assignment.

On import Canvas matches students by ``ID``, assignments by the id in the header (else the exact
title; a header it does not know becomes a new assignment, its points from the Points Possible
row), skips the totals and ``(read only)`` columns, and treats a blank cell where it has a grade
as a change: so cells of students without a submission are kept as exported, never blanked.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import GraderError
from ..assignment import Assignment
from ..results import Result
from .match import Report, match, platform_key, who
from .table import Table, decimal_style, format_number, parse_number, read_table, scaled, write_table

WHAT = "Canvas gradebook export (Grades > Export)"
POINTS_POSSIBLE = "Points Possible"
TOTALS = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                    "Override Score|Override Grade|Override Status")  # the importer's NON_ASSIGNMENT_COLUMN_HEADERS
READ_ONLY = re.compile(r"read\s+only")
HEADER_ID = re.compile(r"\s*\((\d+)\)\s*$")  # "Title (assignment id)"
EMPTY = ("", "-")  # a cell with no score


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[_\-:]+", " ", text).casefold().split())


def _assignment_id(header: str) -> str | None:
    m = HEADER_ID.search(header)
    return m.group(1) if m else None


@dataclass
class CanvasGradebook:
    source: Path
    table: Table
    id_col: int
    first_col: int  # the first column after Section (custom columns, then assignments)
    pp_row: int | None  # the Points Possible row
    students: dict[int, str]  # row -> the Canvas user id in it

    @classmethod
    def read(cls, path: Path) -> "CanvasGradebook":
        table = read_table(path, WHAT)
        header = [c.strip() for c in table.rows[0]]
        # the importer's own test (row_has_student_headers?): Student, ID or LastName, FirstName, ID
        if len(header) > 3 and "Student" in header[0] and "ID" in header[1]:
            id_col = 1
        elif len(header) > 4 and "LastName" in header[0] and "FirstName" in header[1] and "ID" in header[2]:
            id_col = 2
        else:
            raise GraderError(f"{path} is not a {WHAT}: its header must begin Student, ID (or LastName, FirstName, "
                              f"ID), as Canvas exports it; it begins {', '.join(header[:4]) or '(nothing)'}")
        section = table.find("Section")
        if section is None:
            raise GraderError(f"{path} has no Section column, which Canvas' import needs: export the gradebook "
                              "from Canvas again")
        pp_row, students = None, {}
        for i, row in enumerate(table.rows[1:], start=1):
            if not any(c.strip() for c in row):
                continue
            if POINTS_POSSIBLE in row[0]:
                pp_row = i
            elif table.get(i, id_col).strip():  # not the Manual Posting row, which has no ID
                students[i] = platform_key(table.get(i, id_col))
        return cls(Path(path), table, id_col, section + 1, pp_row, students)

    def read_only(self, col: int) -> bool:
        header = self.table.get(0, col)
        pp = "" if self.pp_row is None else self.table.get(self.pp_row, col)
        return bool(TOTALS.search(header) or READ_ONLY.search(pp))

    def assignment_columns(self) -> list[int]:
        return [c for c in range(self.first_col, len(self.table.rows[0])) if not self.read_only(c)]

    def column_for(self, assignment: str, wanted: str | None = None) -> int | None:
        """The column to fill: ``wanted`` (a title, a whole header or an assignment id), else the one named like
        ``assignment``; None: none is, and a new column is added. GraderError where the choice is not clear."""
        header = self.table.rows[0]
        titles = {c: _norm(HEADER_ID.sub("", header[c])) for c in self.assignment_columns()}
        shown = ", ".join(repr(header[c]) for c in titles) or "(none)"
        if wanted:
            w = _norm(wanted)
            hits = [c for c, t in titles.items() if w in (t, _norm(header[c])) or _assignment_id(header[c]) == w]
            if not hits:
                blocked = [repr(header[c]) for c in range(len(header)) if _norm(header[c]) == w and self.read_only(c)]
                raise GraderError(f"--gradebook-column {wanted!r}: " + (
                    f"{blocked[0]} is read-only in Canvas (a total, or '(read only)'); Canvas ignores it on import"
                    if blocked else f"no such assignment column in {self.source}; its assignment columns: {shown}"))
            if len(hits) > 1:
                raise GraderError(f"--gradebook-column {wanted!r} names {len(hits)} columns of {self.source}: "
                                  f"{', '.join(repr(header[c]) for c in hits)}; give the whole header, with its id")
            return hits[0]
        full = _norm(assignment)
        bare = re.sub(r"^\d+\s*", "", full) or full  # "03 gradient check" -> "gradient check"
        tiers = [lambda t: t == full, lambda t: t == bare,
                 lambda t: f" {full} " in f" {t} ", lambda t: f" {bare} " in f" {t} "]
        for test in tiers:
            hits = [c for c, t in titles.items() if test(t)]
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise GraderError(f"{len(hits)} columns of {self.source} are named like {assignment}: "
                                  f"{', '.join(repr(header[c]) for c in hits)}; choose one with --gradebook-column")
        return None

    def fill(self, a: Assignment, results: list[Result], dest: Path, wanted: str | None = None,
             missing_zero: bool = False) -> Report:
        """Write a copy of the export to ``dest`` with the assignment's column filled; what was done."""
        col = self.column_for(a.name, wanted)
        m = match(results, self.students, self.source, "Canvas", "Canvas user id (column ID)")
        table = Table([list(r) for r in self.table.rows], self.table.delimiter, self.table.bom, self.table.newline)
        pp_row, notes = self.pp_row, []
        if col is None:
            col, pp_row = self._add_column(table, a)
            notes.append(f"no column of the export is named like {a.name}: a new column {a.name!r} "
                         f"({a.max_score:g} points) is added; Canvas' import offers to create it as an assignment "
                         "(give --gradebook-column to fill an existing one)")
        shift = 1 if pp_row is not None and self.pp_row is None else 0  # a Points Possible row was inserted
        pp_text = "" if pp_row is None else table.get(pp_row, col)
        target, mark = parse_number(pp_text), decimal_style(pp_text)[0]
        if target is not None and scaled(1.0, a.max_score, target) != 1.0:
            notes.append(f"scores scaled from {a.max_score:g} to {target:g} points (the column's Points Possible)")
        report = Report("Canvas gradebook", self.source, dest, table.get(0, col), m, missing_zero, notes=notes)
        report.note_results()
        for row, r in m.rows.items():
            if table.get(row + shift, col).strip() == "N/A":
                notes.append(f"{who(r)}: Canvas does not assign this assignment to them (N/A) and would ignore "
                             "their score; the cell is kept")
            else:
                table.set(row + shift, col, format_number(scaled(r.score, a.max_score, target), mark))
        for row in m.without:
            if missing_zero and table.get(row + shift, col).strip() in EMPTY:
                table.set(row + shift, col, "0")
                report.zeroed += 1
        write_table(table, dest)
        return report

    def _add_column(self, table: Table, a: Assignment) -> tuple[int, int]:
        """(a new last column named after the assignment, the Points Possible row with its points: added if
        the export had none, under the header)."""
        col, pp_row = len(table.rows[0]), self.pp_row
        if pp_row is None:
            table.rows.insert(1, ["    " + POINTS_POSSIBLE])
            pp_row = 1
        for i, row in enumerate(table.rows):
            if row:
                table.set(i, col, "")
        table.set(0, col, a.name)
        table.set(pp_row, col, format_number(a.max_score))
        return col, pp_row
