"""The CSV edge of hand-back: a platform's export read, and written back the way it came; numbers.

An export is kept as rows of strings with the delimiter, byte-order mark and line ending it had, so
the copy we write differs from the instructor's file in the cells we fill and nowhere else (a
spreadsheet program set to a comma-decimal locale saves with ``;``; Canvas' importer accepts both,
``GradebookImporter#identify_delimiter``, and Moodle's upload form asks for the separator).
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import GraderError

NUMBER = re.compile(r"^\s*-?\d+(?:[.,]\d+)?\s*$")  # what the platforms write: no thousands separator


@dataclass
class Table:
    rows: list[list[str]]
    delimiter: str = ","
    bom: bool = False
    newline: str = "\r\n"

    def get(self, row: int, col: int) -> str:
        cells = self.rows[row]
        return cells[col] if col < len(cells) else ""

    def set(self, row: int, col: int, value: str) -> None:
        cells = self.rows[row]
        cells.extend([""] * (col + 1 - len(cells)))
        cells[col] = value

    def find(self, name: str, row: int = 0) -> int | None:
        """The column whose header cell is ``name`` (case and surrounding spaces ignored), or None."""
        wanted = name.strip().casefold()
        return next((i for i, cell in enumerate(self.rows[row]) if cell.strip().casefold() == wanted), None)


def read_table(path: Path, what: str) -> Table:
    """``path`` as rows; a GraderError naming ``what`` it should have been if it is missing, empty or not text."""
    path = Path(path)
    if not path.is_file():
        raise GraderError(f"{what} not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GraderError(f"{path} is not UTF-8 text: download the {what} from the platform again (a spreadsheet "
                          "program may have saved it in another encoding)") from None
    if not text.strip():
        raise GraderError(f"{path} is empty: expected the {what}")
    widths = {d: len(next(csv.reader(io.StringIO(text, newline=""), delimiter=d))) for d in (",", ";")}
    delimiter = ";" if widths[";"] > widths[","] else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise GraderError(f"{path} is not a readable CSV file ({exc}): expected the {what}") from None
    return Table(rows, delimiter, raw.startswith(codecs.BOM_UTF8), "\r\n" if "\r\n" in text else "\n")


def write_table(table: Table, path: Path) -> None:
    """Write ``table`` as it was read (delimiter, byte-order mark, line ending)."""
    with open(path, "w", newline="", encoding="utf-8-sig" if table.bom else "utf-8") as f:
        csv.writer(f, delimiter=table.delimiter, lineterminator=table.newline).writerows(table.rows)


def parse_number(text: str) -> float | None:
    """A number as a platform wrote it (``10``, ``10.00``, ``10,00``), or None."""
    return float(text.strip().replace(",", ".")) if NUMBER.match(text) else None


def decimal_style(text: str) -> tuple[str, int | None]:
    """(decimal mark, digits after it) of a number as written; ``(".", None)`` when it has none."""
    m = re.search(r"([.,])(\d+)\s*$", text)
    return (m.group(1), len(m.group(2))) if m else (".", None)


def format_number(x: float, mark: str = ".", decimals: int | None = None) -> str:
    """``x`` with ``decimals`` digits, or (None) up to two with trailing zeros dropped; ``mark`` as decimal mark."""
    text = f"{x:.{2 if decimals is None else decimals}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text.replace(".", mark)


def scaled(score: float, max_score: float, target: float | None) -> float:
    """``score`` out of ``max_score`` as points out of ``target`` (unchanged when there is no other target)."""
    if target is None or target <= 0 or max_score <= 0 or abs(target - max_score) < 1e-9:
        return score
    return score * target / max_score
