"""Who is who: the graded submitters matched to the students of an export by platform id; the report.

Matching is by the student's id on the platform only (``Result.platform_id``, kept by intake from
the platform's download), never by name: names are not unique and are spelled differently in a
download and a gradebook. A run whose submitters match nobody in the export is an error, never a
file of empty cells.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import GraderError
from ..results import Result, Status

SHOWN = 8  # ids listed in a message before "..."


def platform_key(text: str) -> str:
    """How ids are compared: the number at the end (``Participant 1234`` is ``1234``), else the text case-folded."""
    text = str(text).strip()
    m = re.search(r"(\d+)$", text)
    return m.group(1) if m else text.casefold()


def who(r: Result) -> str:
    return f"{r.student} (platform id {r.platform_id})" if r.platform_id else r.student


def _listed(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f", ... ({len(items)} in all)" if len(items) > SHOWN else "")


@dataclass
class Matching:
    rows: dict[int, Result]  # row of the export -> its student's result
    without: list[int]  # rows of students who have no submission
    not_in_export: list[Result]  # submitters with a platform id that no row of the export has
    no_id: list[Result]  # submitters without a platform id (a plain folder layout): cannot be matched
    ambiguous: list[Result]  # several submissions with one platform id: none of them is written


def match(results: list[Result], keys: dict[int, str], source: Path, platform: str, id_name: str) -> Matching:
    """Match ``results`` to the export's rows (row -> that student's id); GraderError if nobody matches."""
    if not keys:
        raise GraderError(f"{source} lists no students: download the {platform} file again, after students are "
                          "enrolled")
    no_id = [r for r in results if not r.platform_id.strip()]
    if len(no_id) == len(results):
        raise GraderError(f"none of the {len(results)} submission(s) carries a {platform} id (the submissions were "
                          f"a plain folder per student), so none can be matched to a student of {source}: grade "
                          f"{platform}'s own download of the submissions to hand grades back to {platform} "
                          "(grades.csv is written; the graded results are kept for the next run)")
    by_key: dict[str, list[Result]] = {}
    for r in results:
        if r.platform_id.strip():
            by_key.setdefault(platform_key(r.platform_id), []).append(r)
    ambiguous = [r for rs in by_key.values() if len(rs) > 1 for r in rs]
    rows = {row: by_key[k][0] for row, k in keys.items() if len(by_key.get(k, [])) == 1}
    if not rows:
        raise GraderError(f"none of the {len(results) - len(no_id)} submitters' {platform} ids "
                          f"({_listed(sorted(by_key))}) is the {id_name} of a student in {source} "
                          f"({len(keys)} students: {_listed(sorted(set(keys.values())))}): is it the export of the "
                          "course these submissions were downloaded from?")
    found = set(keys.values())
    return Matching(
        rows=rows,
        without=[row for row, k in keys.items() if k not in by_key],
        not_in_export=[rs[0] for k, rs in by_key.items() if len(rs) == 1 and k not in found],
        no_id=no_id,
        ambiguous=ambiguous,
    )


@dataclass
class Report:
    """What one hand-back wrote, and everything the instructor should look at before importing it."""
    platform: str
    source: Path
    written: Path
    column: str
    matching: Matching
    missing_zero: bool = False
    zeroed: int = 0  # students without a submission given 0 (--missing-zero)
    notes: list[str] = field(default_factory=list)  # scaling, the new column, per-student remarks

    def note_results(self) -> None:
        """Remarks on the submitters written whose grade deserves a look (not graded, flagged)."""
        for r in self.matching.rows.values():
            if r.status != Status.GRADED:
                self.notes.append(f"{who(r)} could not be graded ({r.reason}): its score {r.score:g} is written; "
                                  "see grades.csv before importing")
            elif r.flags:
                self.notes.append(f"{who(r)} is flagged by the cross-check: look at it before importing")

    def lines(self) -> list[str]:
        m = self.matching
        left = len(m.without) - self.zeroed
        lines = [f"{self.platform}: wrote {self.written} from {self.source} (column {self.column!r}): "
                 f"{len(m.rows)} score(s) filled; {len(m.without)} student(s) without a submission: "
                 + (f"{self.zeroed} given 0, {left} kept as exported (their cell was not empty)"
                    if self.missing_zero else "kept as exported (empty unless the platform had a grade)")]
        lines += [f"  note: {n}" for n in self.notes]
        if m.not_in_export:
            lines.append(f"  WARNING: {len(m.not_in_export)} submitter(s) are not in {self.source}, so their "
                         f"score is not in the file: {_listed([who(r) for r in m.not_in_export])}")
        if m.no_id:
            lines.append(f"  WARNING: {len(m.no_id)} submission(s) have no platform id and cannot be matched: "
                         f"{_listed([who(r) for r in m.no_id])}")
        if m.ambiguous:
            lines.append(f"  WARNING: several submissions share a platform id, so none of them is written: "
                         f"{_listed([who(r) for r in m.ambiguous])}")
        return lines
