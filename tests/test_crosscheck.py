"""The cross-check on its own, without nbgrader: for every chapter that has one, the correct code
passes every check, and every known-wrong version of the chapter's fixture class

- fails only checks whose test cells it loses in nbgrader too, so that honest wrong code is
  never flagged (the fixture classes prove what it loses, graded by the real CLI);
- fails a check that covers a test cell it loses (the cross-check notices it, for the right test);
- is flagged, naming the function, when nbgrader gives full marks anyway (as a kernel that lied would).

Every check is failed by at least one known-wrong version. The end-to-end side (the grader runs
the cross-check in the sandbox and writes the flags) is in each chapter's fixture class
(``KERNEL_CHEATS``) and in ``test_cheats.py``.
"""

import pytest

import submissions as subs
import test_grade_01_rnn_forward
import test_grade_02_bptt
import test_grade_03_gradient_check
import test_grade_04_gated_cells
import test_grade_05_tf_cells
from autograder import crosscheck
from autograder.crosscheck import spec

pytestmark = [pytest.mark.slow]

CHAPTERS = {ch.assignment: ch for ch in (test_grade_01_rnn_forward.CH, test_grade_02_bptt.CH,
                                         test_grade_03_gradient_check.CH, test_grade_04_gated_cells.CH,
                                         test_grade_05_tf_cells.CH)}

# A loop that never ends costs a minute here (the cell and every call run into the child's time
# limits); chapter 1's fixture class grades it end to end, cross-check included.
SLOW = {"infinite_loop"}

# Known-wrong versions whose numbers are right: they lose their points to a test's other demands,
# which the cross-check does not repeat (it compares numbers, under the same guards as the tests
# for how a backward pass or a Keras cell is made, but times nothing).
NUMBERS_RIGHT = {
    # Differences written out inline compute the right gradients; the hidden test's cost bound refuses
    # them, which the cross-check does not repeat (it times nothing).
    "step_backward_by_inline_differences": "right numbers, refused by the cost bound",
    "cifg_step_backward_by_inline_differences": "right numbers, refused by the cost bound",
}

WRONG = [(assignment, name) for assignment, ch in CHAPTERS.items() for name in ch.mutants if name not in SLOW]


def run(assignment, nb, scores, folder, seed=7):
    ch = CHAPTERS[assignment]
    solution = subs.load(assignment, ch.notebook, "solutions")
    reasons, report = crosscheck.run(assignment, nb, solution, scores, ch.points, seed, folder)
    failing = [c for c in spec.checks(assignment) if f"{c.name}: ok" not in report]
    return reasons, report, failing


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """(assignment, name) -> (reasons with full marks, report, failing checks): one run each."""
    done = {}

    def get(assignment, name):
        if (assignment, name) not in done:
            ch = CHAPTERS[assignment]
            nb = subs.correct_submission(assignment, ch.notebook, ch.mutants[name][0])
            done[assignment, name] = run(assignment, nb, ch.scores(), tmp_path_factory.mktemp(name))
        return done[assignment, name]

    return get


def test_every_graded_chapter_but_the_training_one_has_a_cross_check():
    assert set(spec.SUITES) == set(CHAPTERS)
    for assignment in spec.SUITES:
        covered = {t for c in spec.checks(assignment) for t in c.tests}
        assert covered == set(CHAPTERS[assignment].points), f"{assignment}: test cells without a check"


@pytest.mark.parametrize("assignment, seed", [(a, s) for a in sorted(CHAPTERS)
                                              for s in ([1] if a == "05_tf_cells" else [1, 2, 3])])
def test_correct_code_passes_every_check(assignment, seed, tmp_path):
    ch = CHAPTERS[assignment]
    reasons, report, failing = run(assignment, subs.correct_submission(assignment, ch.notebook), ch.scores(),
                                   tmp_path, seed)
    assert not failing and not reasons, report


@pytest.mark.parametrize("assignment, name", WRONG, ids=[f"{a}-{n}" for a, n in WRONG])
def test_known_wrong_versions(assignment, name, outcome):
    lost = CHAPTERS[assignment].mutants[name][1]
    fooled, report, failing = outcome(assignment, name)
    kept = [c.name for c in failing if not set(c.tests) <= lost]
    assert not kept, f"{name} is honest (nbgrader takes {sorted(lost)}), but these checks would flag it: {kept}"
    if name in NUMBERS_RIGHT:
        assert not failing, report
        return
    assert any(set(c.tests) & lost for c in failing), f"no check covering {sorted(lost)} noticed {name}: {report}"
    assert fooled and all("outside the grading kernel" in r for r in fooled), fooled


def test_every_check_is_failed_by_a_known_wrong_version(outcome):
    failed = {(assignment, c.name) for assignment, name in WRONG for c in outcome(assignment, name)[2]}
    never = [(a, c.name) for a in spec.SUITES for c in spec.checks(a) if (a, c.name) not in failed]
    assert not never, f"checks that no known-wrong version fails (they test nothing): {never}"


def test_flag_reason_names_function_result_and_size(outcome):
    reasons = outcome("02_bptt", "missing_bias_gradient")[0]
    # it loses the full sweep, which truncate >= T goes through too: one reason per test cell
    assert len(reasons) == 2, reasons
    full = [r for r in reasons if r.startswith("nbgrader gave test_rnn_backward 3/3, but rnn_backward, re-run on fresh")]
    assert len(full) == 1 and "db: it differs from the reference by up to" in full[0], reasons
    assert any(r.startswith("nbgrader gave test_rnn_backward_truncated 2/2") for r in reasons), reasons


def test_honest_scores_give_no_flag(tmp_path):
    """The same known-wrong version, with the scores nbgrader gives it: nothing to flag."""
    ch = CHAPTERS["02_bptt"]
    edits, lost = ch.mutants["missing_bias_gradient"]
    reasons, _, failing = run("02_bptt", subs.correct_submission("02_bptt", "bptt", edits), ch.scores(lost), tmp_path)
    assert failing and reasons == []


def test_a_failing_reference_is_the_courses_error(tmp_path):
    broken = subs.load("01_rnn_forward", "rnn_forward", "solutions")
    for cell in broken.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_step_forward":
            cell.source = "raise RuntimeError('broken instructor notebook')"
    with pytest.raises(RuntimeError, match="instructor notebook of 01_rnn_forward failed"):
        crosscheck.run("01_rnn_forward", subs.correct_submission("01_rnn_forward", "rnn_forward"), broken,
                       {}, {}, 1, tmp_path)
