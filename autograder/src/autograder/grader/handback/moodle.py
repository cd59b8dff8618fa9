"""Moodle: the Grade column of an assignment's offline grading worksheet filled, for its upload.

The file's shape is Moodle's own (moodle/moodle, ``mod/assign/gradingtable.php`` writes it when
downloading, ``mod/assign/feedback/offline/importgradeslib.php`` and ``locallib.php`` read it back;
column names from ``mod/assign/lang/en/assign.php``; https://github.com/moodle/moodle); the
feature is the assignment's *Offline grading worksheet* feedback type:

- ``Identifier`` (``Participant 123456``: ``assign::get_uniqueid_for_user``, the same number as in
  the folder names of "Download all submissions", ``mod/assign/locallib.php``), ``Full name``,
  ``Email address``, ``Status``, ``Grade``, ``Maximum Grade`` (``Scale`` instead for an assignment
  graded on a scale), ``Grade can be changed``, ``Last modified (submission)``, ``Last modified
  (grade)``, ``Feedback comments``;
- the grade written by ``format_float`` with the grade item's decimals, in the site language's
  decimal mark (read back by ``unformat_float``): we write ours the way the worksheet writes its
  Maximum Grade.

The upload needs ``Identifier``, ``Grade`` and ``Last modified (grade)`` (else "Moodle could not read
the uploaded worksheet"), skips an empty grade, a grade above the assignment's maximum or below 0,
a locked grade, and one changed in Moodle after the worksheet was downloaded (unless "Allow
updating records that have been modified more recently in Moodle than in the spreadsheet" is
ticked). Hence scores are scaled to the worksheet's Maximum Grade, and every other cell, the dates
included, is kept as downloaded.
"""

from dataclasses import dataclass
from pathlib import Path

from ...errors import GraderError
from ..assignment import Assignment
from ..results import Result
from .match import Report, match, platform_key, who
from .table import Table, decimal_style, format_number, parse_number, read_table, scaled, write_table

WHAT = "Moodle grading worksheet (assignment > Download grading worksheet)"
IDENTIFIER, GRADE, MODIFIED = "Identifier", "Grade", "Last modified (grade)"  # what the upload needs
MAXIMUM, SCALE, CAN_CHANGE = "Maximum Grade", "Scale", "Grade can be changed"


@dataclass
class MoodleWorksheet:
    source: Path
    table: Table
    grade_col: int
    max_col: int | None
    can_change_col: int | None
    students: dict[int, str]  # row -> participant number

    @classmethod
    def read(cls, path: Path) -> "MoodleWorksheet":
        table = read_table(path, WHAT)
        cols = {name: table.find(name) for name in (IDENTIFIER, GRADE, MODIFIED, MAXIMUM, SCALE, CAN_CHANGE)}
        missing = [name for name in (IDENTIFIER, GRADE, MODIFIED) if cols[name] is None]
        if missing:
            raise GraderError(f"{path} has no {', '.join(repr(n) for n in missing)} column, which Moodle's upload "
                              f"needs (its columns: {', '.join(c.strip() for c in table.rows[0])}): download the "
                              "grading worksheet again, with English as your language in Moodle (Moodle names the "
                              "columns in the language of whoever downloads it)")
        if cols[MAXIMUM] is None and cols[SCALE] is not None:
            raise GraderError(f"{path}: the assignment is graded on a scale in Moodle (a Scale column, no Maximum "
                              "Grade): set its grade type to Point to hand back scores")
        ident = cols[IDENTIFIER]
        students = {i: platform_key(table.get(i, ident)) for i in range(1, len(table.rows))
                    if table.get(i, ident).strip()}
        return cls(Path(path), table, cols[GRADE], cols[MAXIMUM], cols[CAN_CHANGE], students)

    def maximum(self) -> tuple[float | None, str]:
        """(the worksheet's Maximum Grade, as written), or (None, "") where it has none."""
        for row in self.students:
            text = "" if self.max_col is None else self.table.get(row, self.max_col).strip()
            if text:
                value = parse_number(text)
                if value is None:
                    raise GraderError(f"{self.source}: Maximum Grade {text!r} is not a number")
                return value, text
        return None, ""

    def fill(self, a: Assignment, results: list[Result], dest: Path, missing_zero: bool = False) -> Report:
        """Write a copy of the worksheet to ``dest`` with the Grade column filled; what was done."""
        m = match(results, self.students, self.source, "Moodle", "participant number (column Identifier)")
        target, written = self.maximum()
        mark, decimals = decimal_style(written)
        table = Table([list(r) for r in self.table.rows], self.table.delimiter, self.table.bom, self.table.newline)
        notes = []
        if target is None:
            notes.append(f"the worksheet has no Maximum Grade: scores written as points out of {a.max_score:g} "
                         "(Moodle skips a grade above the assignment's maximum)")
        elif scaled(1.0, a.max_score, target) != 1.0:
            notes.append(f"scores scaled from {a.max_score:g} to {target:g} points (the worksheet's Maximum Grade)")
        report = Report("Moodle grading worksheet", self.source, dest, table.get(0, self.grade_col), m,
                        missing_zero, notes=notes)
        report.note_results()
        for row, r in m.rows.items():
            table.set(row, self.grade_col, format_number(scaled(r.score, a.max_score, target), mark, decimals))
            if self.can_change_col is not None and table.get(row, self.can_change_col).strip().casefold() == "no":
                notes.append(f"{who(r)}: the grade is locked in Moodle (Grade can be changed: No); the upload "
                             "will skip it")
        for row in m.without:
            if missing_zero and not table.get(row, self.grade_col).strip():
                table.set(row, self.grade_col, format_number(0.0, mark, decimals))
                report.zeroed += 1
        write_table(table, dest)
        return report
