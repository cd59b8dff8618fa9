"""Comparing the submission's results with the solution's: one report line per check, and flag reasons.

A check fails on its first call whose results differ. Where nbgrader awarded points on a test cell
the failed check covers, the submission is flagged, with the reason. Honest wrong code loses those
points in nbgrader too, so it is not flagged. (The texts say "the reference" for the solution's
results: instructors read them in ``grades.csv``, and the book quotes them.)
"""

from collections.abc import Sequence

import numpy as np

from .npz import Results
from .spec import Check


def difference(check: Check, submitted: Sequence[np.ndarray], solution: Sequence[np.ndarray]) -> str | None:
    """What is wrong with one call's results (None: they agree with the solution's)."""
    if len(submitted) != len(solution):
        return f"it returned {len(submitted)} results, the reference {len(solution)}"
    for k, (a, b) in enumerate(zip(submitted, solution)):
        what = f"{check.label(k)}: " if len(solution) > 1 or check.labels else ""
        if a.shape != b.shape:
            return f"{what}it returned shape {a.shape}, the reference {b.shape}"
        if not np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            return f"{what}it returned nan or inf"
        if a.size and not np.allclose(a, b, rtol=check.rtol, atol=check.atol):
            return f"{what}it differs from the reference by up to {float(np.max(np.abs(a - b))):.3g}"
    return None


def problem(check: Check, index: int, calls: int, submitted: Results, solution: Results) -> str | None:
    """What is wrong with check number ``index`` over its ``calls`` calls (None: nothing).

    Raises RuntimeError where the solution itself failed a call."""
    for call in range(calls):
        expected = solution.parts(index, call)
        if expected is None:
            raise RuntimeError(f"the reference failed on {check.name}: {solution.error(index, call)}")
        returned = submitted.parts(index, call)
        if returned is None:
            error = submitted.error(index, call)
            return f"it failed: {('no result' if error is None else error)[:200]}"
        found = difference(check, returned, expected)
        if found:
            return found
    return None


def compare(checks: Sequence[Check], calls: int, submitted: Results, solution: Results, scores: dict[str, float],
            points: dict[str, float]) -> tuple[list[str], list[str]]:
    """(flag reasons, report lines) from the submission's results, the solution's and nbgrader's scores."""
    reasons, lines = [], []
    for index, check in enumerate(checks):
        found = problem(check, index, calls, submitted, solution)
        lines.append(f"{check.name}: {'ok' if found is None else found}")
        if found is None:
            continue
        awarded = [t for t in check.tests if scores.get(t, 0.0) > 0]
        if awarded:
            given = ", ".join(f"{t} {scores[t]:g}/{points[t]:g}" for t in awarded)
            reasons.append(f"nbgrader gave {given}, but {check.function}, re-run on fresh inputs outside the "
                           f"grading kernel: {found}")
    return reasons, lines
