"""A student's result, and the reports of a run: ``grades.csv``, ``summary.csv``, ``summary.md``.

Results are typed records inside the grader; they become CSV-shaped rows only at the edge
(:meth:`Result.to_row`, for ``grades.csv`` and ``result.json``; :meth:`Result.from_row` back).
"""

import csv
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from .assignment import Assignment

if TYPE_CHECKING:
    from .intake import Intake

SEP = "; "  # between the reasons (or flags) in one cell of grades.csv
COLUMNS = ["student", "submitted_as", "platform_id", "assignment", "score", "max_score", "status", "reason", "flagged",
           "flag_reason", "sandbox", "seconds"]
SANDBOX_ON, SANDBOX_OFF = "on", "OFF"
MAX_LISTED = 50  # paths summary.md lists per reason a file was skipped


class Status(StrEnum):
    GRADED = "graded"
    UNGRADED = "ungraded"


@dataclass
class Result:
    student: str  # the student's id
    submitted_as: str  # their folder's name
    status: Status
    scores: dict[str, float]  # grade id -> points (missing: 0)
    reasons: list[str]  # why nothing was graded (first, if so), then notes on what was done
    flags: list[str] | None  # the cross-check's reasons not to trust a score; None: no cross-check
    sandboxed: bool
    sandbox: str  # sandboxed: which limits held; else why not
    seconds: float = 0.0
    platform_id: str = ""  # the student's identity on the learning platform ("" where the input had none)
    messages: dict[str, str] = field(default_factory=dict)  # grade id -> first line of why points were lost

    @property
    def score(self) -> float:
        return float(sum(self.scores.values()))

    @property
    def reason(self) -> str:
        return SEP.join(self.reasons)

    @property
    def sandbox_column(self) -> str:
        return f"{SANDBOX_ON} ({self.sandbox})" if self.sandboxed else f"{SANDBOX_OFF}: {self.sandbox}"

    def to_row(self, a: Assignment) -> dict[str, object]:
        """The row of ``grades.csv``: the fixed columns, then the points of every test cell."""
        fixed = {
            "student": self.student,
            "submitted_as": self.submitted_as,
            "platform_id": self.platform_id,
            "assignment": a.name,
            "score": self.score,
            "max_score": a.max_score,
            "status": str(self.status),
            "reason": self.reason,
            "flagged": "n/a" if self.flags is None else ("yes" if self.flags else "no"),
            "flag_reason": SEP.join(self.flags or []),
            "sandbox": self.sandbox_column,
            "seconds": self.seconds,
        }
        tests = {t.grade_id: self.scores.get(t.grade_id, 0.0) for t in a.tests}
        clash = fixed.keys() & tests.keys()
        assert not clash, f"a test cell's grade id is a grades.csv column: {sorted(clash)}"
        return fixed | tests

    @classmethod
    def from_row(cls, row: dict[str, object], a: Assignment) -> "Result":
        """The result a row of :meth:`to_row` was made from (as ``result.json`` keeps it)."""
        on, _, label = str(row["sandbox"]).partition(" (")
        sandboxed = on == SANDBOX_ON
        flagged = row["flagged"]
        return cls(
            student=str(row["student"]),
            submitted_as=str(row["submitted_as"]),
            status=Status(row["status"]),
            scores={t.grade_id: float(row[t.grade_id]) for t in a.tests},
            reasons=str(row["reason"]).split(SEP) if row["reason"] else [],
            flags=None if flagged == "n/a" else (str(row["flag_reason"]).split(SEP) if flagged == "yes" else []),
            sandboxed=sandboxed,
            sandbox=label[:-1] if sandboxed else str(row["sandbox"]).removeprefix(f"{SANDBOX_OFF}: "),
            seconds=float(row["seconds"]),
            platform_id=str(row.get("platform_id", "")),
        )


def write_grades(a: Assignment, results: list[Result], out: Path) -> None:
    """``out/grades.csv``: one row per student."""
    with open(out / "grades.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS + [t.grade_id for t in a.tests])
        w.writeheader()
        w.writerows(r.to_row(a) for r in results)


def per_test_summary(a: Assignment, results: list[Result]) -> list[dict[str, object]]:
    """Per test cell: points, submissions, mean score, full marks and pass rate."""
    summary = []
    for t in a.tests:
        vals = [r.scores.get(t.grade_id, 0.0) for r in results]
        full = sum(1 for v in vals if v >= t.points)
        summary.append({
            "test": t.grade_id, "notebook": t.notebook, "points": t.points, "submissions": len(vals),
            "mean_score": round(sum(vals) / len(vals), 3) if vals else 0.0,
            "full_marks": full, "pass_rate": round(full / len(vals), 3) if vals else 0.0,
        })
    return summary


def write_summary(a: Assignment, results: list[Result], out: Path, intake: "Intake | None" = None) -> None:
    """``out/summary.csv`` (per test cell) and ``out/summary.md`` (the same, with the intake, warnings and flags)."""
    summary = per_test_summary(a, results)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]) if summary else ["test"])
        w.writeheader()
        w.writerows(summary)
    (out / "summary.md").write_text("\n".join(summary_lines(a, results, summary, intake)) + "\n")


def intake_lines(intake: "Intake") -> list[str]:
    """The Intake part of ``summary.md``: the layout, the students found, every file skipped and why."""
    with_nb = sum(1 for st in intake.students if st.files)
    lines = ["## Intake", "", f"Layout: {intake.description}.", "",
             f"Students found: {len(intake.students)} ({with_nb} with a notebook).", ""]
    noted = [st for st in intake.students if st.notes]
    if noted:
        lines += ["Intake notes (also in each row's reason):", ""]
        lines += [f"- {st.id}: {SEP.join(st.notes)}" for st in noted] + [""]
    whys: dict[str, list[str]] = {}
    for sk in intake.skipped:
        whys.setdefault(sk.why, []).append(sk.path)
    lines += [f"Files skipped: {len(intake.skipped)}" + (", and why:" if intake.skipped else "."), ""]
    for why, paths in sorted(whys.items()):
        lines += [f"- {why}, {len(paths)} file(s): " + ", ".join(f"`{p}`" for p in paths[:MAX_LISTED])
                  + (f", and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else "")]
    return lines + ([""] if intake.skipped else [])


def summary_lines(a: Assignment, results: list[Result], summary: list[dict[str, object]],
                  intake: "Intake | None" = None) -> list[str]:
    """The lines of ``summary.md``."""
    ungraded = sum(1 for r in results if r.status != Status.GRADED)
    unsandboxed = [r for r in results if not r.sandboxed]
    lines = [f"# {a.name}: {len(results)} submissions, {ungraded} could not be graded", ""]
    if intake is not None:
        lines += intake_lines(intake) + ["## Grades", ""]
    if unsandboxed:
        why = SEP.join(sorted({r.sandbox_column for r in unsandboxed}))
        lines += [f"**WARNING: {len(unsandboxed)} submission(s) were graded UNSANDBOXED** ({why}): their code could "
                  "read and write what the grading user can.", ""]
    held: dict[str, int] = {}
    for r in results:
        if r.sandboxed:
            held[r.sandbox] = held.get(r.sandbox, 0) + 1
    lines += [f"Sandbox: {n} submission(s) with {limits}." for limits, n in sorted(held.items())]
    lines += [""] if held else []
    flagged = [r for r in results if r.flags]
    checked = sum(1 for r in results if r.flags is not None)
    if flagged:
        lines += [f"**{len(flagged)} submission(s) flagged by the cross-check** (nbgrader's score and a re-run of "
                  "the graded functions outside the grading kernel disagree; look at them before releasing grades):",
                  ""]
        lines += [f"- {r.student}: {SEP.join(r.flags)}" for r in flagged] + [""]
    elif checked:
        lines += [f"Cross-check: {checked} submission(s) checked, none flagged.", ""]
    lines += ["| test | points | mean | full marks | pass rate |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {s['test']} | {s['points']:g} | {s['mean_score']:g} | {s['full_marks']} | {s['pass_rate']:.0%} |"
              for s in summary]
    totals = [r.score for r in results]
    if totals:
        lines += ["", f"Total: mean {sum(totals) / len(totals):.2f} of {a.max_score:g}, "
                      f"{sum(1 for s in totals if s >= a.max_score)} with full marks."]
    return lines
