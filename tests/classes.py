"""Fixture classes: a chapter's correct, blank and known-wrong submissions, graded by the real CLI.

Each chapter's test module describes its assignment as a ``Chapter`` (points per test cell and the
known-wrong versions with the test cells each must lose) and asserts the exact score of every
test cell of every student. Known-wrong versions are edits of the instructor's code (see
``submissions.correct_submission``), so they follow the solution as it changes.
"""

import csv
import re
from dataclasses import dataclass, field

import submissions as subs
from conftest import run_cli


# Cheats that work on any chapter without knowing it: the student copy, stubs and all, with an
# IPython input transformer that empties every later cell (the tests with them), always or only
# while nbgrader grades. nbgrader gives full marks; the cross-check must flag them.
KERNEL_CHEATS = {
    "cheat_empties_later_cells": "get_ipython().input_transformers_post.append(lambda lines: [])",
    "cheat_only_while_graded": ("import os\nif os.environ.get('NBGRADER_EXECUTION'):\n"
                                "    get_ipython().input_transformers_post.append(lambda lines: [])"),
}


@dataclass
class Chapter:
    assignment: str
    notebook: str
    points: dict  # test cell grade id -> points, in notebook order
    mutants: dict  # student -> (edits of the instructor's code, set of test cells that must score 0)
    right: dict = field(default_factory=dict)  # student -> edits the contract allows: must keep every point
    timeout: int = 10  # seconds per cell while grading the fixture class
    extra: dict = field(default_factory=dict)  # student -> (per-test scores, status, reason fragments)
    cheats: dict = field(default_factory=dict)  # student -> code that fools nbgrader (full marks, flagged)

    @property
    def max_score(self):
        return sum(self.points.values())

    def scores(self, lost=frozenset()):
        return {gid: (0.0 if gid in lost else float(p)) for gid, p in self.points.items()}

    def expected(self):
        """student -> (expected per-test scores, status, fragments the reason must contain)."""
        out = {
            "instructor": (self.scores(), "graded", []),
            "correct": (self.scores(), "graded", []),
            "blank_student_copy": (self.scores(set(self.points)), "graded", []),
        }
        out.update({name: (self.scores(lost), "graded", []) for name, (_, lost) in self.mutants.items()})
        out.update({name: (self.scores(), "graded", []) for name in self.right})
        out.update({name: (self.scores(), "graded", []) for name in self.cheats})
        out.update(self.extra)
        return out

    def write_standard_class(self, folder):
        nb_name = f"{self.notebook}.ipynb"
        subs.raw((subs.ROOT / "solutions" / self.assignment / nb_name).read_text(), folder / "instructor" / nb_name)
        subs.write(subs.correct_submission(self.assignment, self.notebook), folder / "correct" / nb_name)
        subs.raw((subs.ROOT / "exercises" / self.assignment / nb_name).read_text(),
                 folder / "blank_student_copy" / nb_name)
        for name, (edits, _) in self.mutants.items():
            subs.write(subs.correct_submission(self.assignment, self.notebook, edits), folder / name / nb_name)
        for name, edits in self.right.items():
            subs.write(subs.correct_submission(self.assignment, self.notebook, edits), folder / name / nb_name)
        for name, prelude in self.cheats.items():
            subs.write(subs.cheat_submission(self.assignment, self.notebook, prelude), folder / name / nb_name)

    def grade(self, folder, out):
        proc = run_cli("grade", self.assignment, folder, "--out", out, "--timeout", self.timeout)
        assert proc.returncode == 0, f"grader failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        with open(out / "grades.csv") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        return rows, proc.stdout

    # ---- the assertions every chapter makes

    def check_points(self):
        nb = subs.load(self.assignment, self.notebook, "solutions")
        points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
                  for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
        assert points == self.points
        for name, (_, lost) in self.mutants.items():
            assert lost, f"known-wrong version {name} is expected to lose nothing: it tests nothing"
            assert lost <= set(self.points), f"{name}: unknown test cells {lost - set(self.points)}"
        assert not set(self.right) & set(self.mutants), "a version cannot be both right and wrong"
        for name, edits in self.right.items():
            assert edits, f"known-right version {name} changes nothing"

    def check_row(self, rows, student):
        scores, status, reason_words = self.expected()[student]
        row = rows[student]
        got = {gid: float(row[gid]) for gid in self.points}
        assert got == scores, f"{student}: reason={row['reason']!r}"
        assert float(row["score"]) == sum(scores.values())
        assert float(row["max_score"]) == self.max_score
        assert row["status"] == status, row["reason"]
        if student in self.cheats:  # full marks from nbgrader, and the cross-check says why not to trust them
            assert row["flagged"] == "yes" and "outside the grading kernel" in row["flag_reason"], row
        else:  # an honest submission, right or wrong, is never flagged by the cross-check
            assert row["flagged"] != "yes", f"{student} was flagged: {row['flag_reason']}"
        for words in reason_words:
            assert words in row["reason"], row["reason"]
        if status == "graded" and not reason_words:
            assert row["reason"] == ""

    def check_feedback(self, out, rows, student, class_dir):
        """Feedback shows no hidden-test line that the student did not write themselves."""
        path = out / "feedback" / student / f"{self.notebook}.html"
        text = subs.visible_text(path)
        hidden = subs.hidden_test_lines()
        assert len(hidden) > 50
        own = set()
        for nb in (class_dir / student).glob("*.ipynb"):
            try:
                own |= subs.notebook_lines(nb)
            except Exception:  # noqa: BLE001 - an unreadable submission has no lines of its own
                pass
        for line in hidden:
            if line not in own:
                assert line not in text, f"feedback of {student} shows hidden-test line {line!r}"
        assert "HIDDEN TESTS" not in text
        total = re.search(r"Score:\s*([0-9.]+) / ([0-9.]+)", text)
        assert total and (float(total[1]), float(total[2])) == (float(rows[student]["score"]), self.max_score)

    def check_summary(self, out, rows):
        with open(out / "summary.csv") as f:
            summary = {r["test"]: r for r in csv.DictReader(f)}
        assert set(summary) == set(self.points)
        for gid, points in self.points.items():
            full = sum(1 for r in rows.values() if float(r[gid]) >= points)
            assert int(summary[gid]["full_marks"]) == full
            assert float(summary[gid]["pass_rate"]) == round(full / len(rows), 3)
        assert "pass rate" in (out / "summary.md").read_text()


def standard_tests(ch: Chapter, build=None):
    """The tests every chapter's fixture class gets; a test module does ``globals().update(...)``.

    ``build(folder)`` writes the class (default: the standard class of ``ch``).
    """
    import pytest

    build = build or ch.write_standard_class
    expected = sorted(ch.expected())

    @pytest.fixture(scope="module")
    def graded(tmp_path_factory):
        tmp = tmp_path_factory.mktemp(f"class_{ch.assignment}")
        build(tmp / "class")
        rows, stdout = ch.grade(tmp / "class", tmp / "out")
        return tmp / "out", rows, stdout, tmp / "class"

    def test_points_and_mutants_are_consistent():
        ch.check_points()

    def test_every_submission_has_exactly_one_row(graded):
        out, rows, stdout, _ = graded
        assert set(rows) == set(expected)
        assert f"graded {len(expected)} submission(s)" in stdout

    @pytest.mark.parametrize("student", expected)
    def test_exact_scores(graded, student):
        ch.check_row(graded[1], student)

    @pytest.mark.parametrize("student", expected)
    def test_feedback_without_hidden_tests(graded, student):
        ch.check_feedback(graded[0], graded[1], student, graded[3])

    def test_summary(graded):
        ch.check_summary(graded[0], graded[1])

    return {f.__name__: f for f in (graded, test_points_and_mutants_are_consistent,
                                    test_every_submission_has_exactly_one_row, test_exact_scores,
                                    test_feedback_without_hidden_tests, test_summary)}
