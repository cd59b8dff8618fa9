"""The cross-check's pure parts: comparing results, the npz key scheme, seeds, the registry, the child's loop.

No nbgrader, no kernel, no subprocess: ``tests/test_crosscheck.py`` runs the whole thing.
"""

import ast
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import crosscheck
from autograder.crosscheck import child, engine, npz, spec
from autograder.crosscheck.compare import compare, difference
from autograder.crosscheck.spec import Check

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def _no_args(rng: np.random.Generator) -> tuple:
    return ()


PLAIN = Check("f", "f", ("test_f",), _no_args)
LABELLED = Check("g", "g", ("test_g", "test_h"), _no_args, labels=("dx", "db"), rtol=1e-3, atol=1e-6)


def _results(*calls: list[np.ndarray] | str, check: int = 0, cell_errors: tuple[str, ...] = ()) -> npz.Results:
    """Results of one check over several calls: a list of parts, or a string (why the call failed)."""
    parts = {(check, call): value for call, value in enumerate(calls) if not isinstance(value, str)}
    errors = {(check, call): value for call, value in enumerate(calls) if isinstance(value, str)}
    return npz.Results(npz.pack_results(parts, errors, list(cell_errors)))


# --------------------------------------------------------------------------- difference


def test_equal_results_agree():
    a = np.arange(6.0).reshape(2, 3)
    assert difference(PLAIN, [a], [a.copy()]) is None
    assert difference(LABELLED, [a, np.zeros(0)], [a.copy(), np.zeros(0)]) is None


def test_tolerance_is_the_checks():
    b = np.array([1.0, 2.0, 3.0])
    assert difference(PLAIN, [b * (1 + 5e-7)], [b]) is None  # within rtol 1e-6
    assert difference(PLAIN, [b + 1e-3], [b]) == "it differs from the reference by up to 0.001"
    assert difference(LABELLED, [b * (1 + 5e-4), b], [b, b]) is None  # within its rtol 1e-3
    assert difference(LABELLED, [b, b + 0.5], [b, b]) == "db: it differs from the reference by up to 0.5"


def test_shape_and_count_mismatch():
    assert difference(PLAIN, [np.zeros((2, 3))], [np.zeros((3, 2))]) == "it returned shape (2, 3), the reference (3, 2)"
    assert difference(LABELLED, [np.zeros(1)], [np.zeros(1), np.zeros(1)]) == "it returned 1 results, the reference 2"
    # two results, no labels: the report names them by position
    assert difference(PLAIN, [np.zeros(1), np.ones(2)], [np.zeros(1), np.ones(3)]) == \
        "result 1: it returned shape (2,), the reference (3,)"


def test_nan_or_inf_where_the_solution_is_finite():
    b = np.ones(3)
    assert difference(PLAIN, [np.array([1.0, np.nan, 1.0])], [b]) == "it returned nan or inf"
    assert difference(LABELLED, [b, np.array([np.inf, 1, 1])], [b, b]) == "db: it returned nan or inf"


# --------------------------------------------------------------------------- compare


def test_compare_agreeing_results_flag_nothing():
    a = [np.ones(2)]
    reasons, lines = compare([PLAIN], 2, _results(a, a), _results(a, a), {"test_f": 3.0}, {"test_f": 3.0})
    assert (reasons, lines) == ([], ["f: ok"])


def test_compare_flags_awarded_points_on_the_first_differing_call():
    a, off = [np.zeros(2)], [np.full(2, 0.25)]
    reasons, lines = compare([PLAIN], 3, _results(a, off, [np.ones(5)]), _results(a, a, a), {"test_f": 2.0},
                             {"test_f": 3.0})
    assert lines == ["f: it differs from the reference by up to 0.25"]
    assert reasons == ["nbgrader gave test_f 2/3, but f, re-run on fresh inputs outside the grading kernel: "
                       "it differs from the reference by up to 0.25"]


def test_compare_only_flags_the_tests_that_got_points():
    a, b = [np.zeros(2), np.zeros(1)], [np.zeros(2), np.ones(1)]
    scores, points = {"test_g": 0.0, "test_h": 1.5}, {"test_g": 1.0, "test_h": 2.0}
    reasons, _ = compare([LABELLED], 1, _results(b), _results(a), scores, points)
    assert reasons == ["nbgrader gave test_h 1.5/2, but g, re-run on fresh inputs outside the grading kernel: "
                       "db: it differs from the reference by up to 1"]
    honest, lines = compare([LABELLED], 1, _results(b), _results(a), {"test_g": 0.0}, points)
    assert honest == [] and lines == ["g: db: it differs from the reference by up to 1"]


def test_compare_reports_an_exception_recorded_by_the_child():
    a = [np.ones(2)]
    reasons, lines = compare([PLAIN], 2, _results(a, "ValueError: " + "x" * 300), _results(a, a), {"test_f": 1.0},
                             {"test_f": 1.0})
    assert lines == [f"f: it failed: ValueError: {'x' * 188}"]  # cut at 200 characters
    assert len(reasons) == 1 and reasons[0].endswith(lines[0][3:])


def test_compare_without_results_says_no_result():
    a = [np.ones(2)]
    _, lines = compare([PLAIN], 1, npz.Results({}), _results(a), {}, {})
    assert lines == ["f: it failed: no result"]


def test_compare_raises_where_the_solution_failed():
    with pytest.raises(RuntimeError, match="the reference failed on f: NameError: f"):
        compare([PLAIN], 1, _results([np.ones(1)]), _results("NameError: f"), {}, {})


def test_could_not_run_fails_every_call_with_the_reason():
    results = engine.could_not_run("01_rnn_forward", ["it did not finish in 120 s"])
    checks = spec.checks("01_rnn_forward")
    for index in range(len(checks)):
        for call in range(spec.SUITES["01_rnn_forward"].calls_per_check):
            assert results.parts(index, call) is None
            assert results.error(index, call) == ("the cross-check could not run the submission's code: "
                                                  "it did not finish in 120 s")
    assert results.cell_errors() == []


# --------------------------------------------------------------------------- npz


def test_key_scheme():
    assert (npz.input_key(2, 1, 12), npz.result_key(2, 1, 0), npz.error_key(2, 1)) == ("2_1_12", "r2_1_0", "e2_1")


def test_inputs_round_trip_in_order(tmp_path):
    args = {(0, 0): tuple(np.full(k + 1, k) for k in range(12)), (0, 1): (np.eye(2), 3), (11, 0): (np.array(7.5),)}
    path = tmp_path / "inputs.npz"
    npz.save(path, npz.pack_inputs(args))
    grouped = npz.group_inputs(npz.load(path))
    assert list(grouped) == [(0, 0), (0, 1), (11, 0)]  # numeric order, not the keys' text order
    assert [a.tolist() for a in grouped[0, 0]] == [[k] * (k + 1) for k in range(12)]
    assert np.array_equal(grouped[0, 1][0], np.eye(2)) and grouped[0, 1][1].ndim == 0 and grouped[0, 1][1] == 3
    assert list(tmp_path.iterdir()) == [path]  # written at once, no temporary file left


def test_results_round_trip(tmp_path):
    parts = {(0, 0): [np.ones(2), np.zeros((1, 3))], (1, 0): [np.array(4.0)]}
    path = tmp_path / "results.npz"
    npz.save(path, npz.pack_results(parts, {(0, 1): "ValueError: no"}, ["cell 2: NameError: x"]))
    back = npz.Results(npz.load(path))
    assert [p.tolist() for p in back.parts(0, 0)] == [[1.0, 1.0], [[0.0, 0.0, 0.0]]]
    assert back.parts(1, 0)[0] == 4.0 and back.error(1, 0) is None
    assert back.parts(0, 1) is None and back.error(0, 1) == "ValueError: no"
    assert back.parts(5, 5) is None and back.error(5, 5) is None
    assert back.cell_errors() == ["cell 2: NameError: x"] and bool(back)


def test_results_ignore_what_they_do_not_ask_for():
    """A results file is written next to student code: stray keys and a bad cell list do no harm."""
    results = npz.Results({"r0_0_0": np.ones(1), "r0_0_2": np.ones(1), "junk": np.ones(1),
                           npz.CELL_ERRORS: np.array("not json")})
    assert len(results.parts(0, 0)) == 1  # parts stop at the first gap
    assert results.cell_errors() == ["(the list of failed cells is unreadable)"]
    assert npz.Results({npz.CELL_ERRORS: np.array(json.dumps("one"))}).cell_errors() == ["one"]
    assert not npz.Results({})


# --------------------------------------------------------------------------- seeds and inputs


def test_seed_for_is_deterministic_and_depends_on_both_parts():
    seed = crosscheck.seed_for("digest", "nonce")
    assert seed == crosscheck.seed_for("digest", "nonce") and 0 <= seed < 2 ** 64
    assert len({seed, crosscheck.seed_for("digest", "other"), crosscheck.seed_for("other", "nonce")}) == 3


def test_make_inputs_follow_the_seed():
    first, again, other = (engine.make_inputs("02_bptt", s) for s in (5, 5, 6))
    calls = spec.SUITES["02_bptt"].calls_per_check
    assert {key.rsplit("_", 1)[0] for key in first} == {f"{i}_{c}" for i in range(len(spec.checks("02_bptt")))
                                                        for c in range(calls)}
    assert first.keys() == again.keys() and all(np.array_equal(first[k], again[k]) for k in first)
    assert first.keys() == other.keys() and not all(np.array_equal(first[k], other[k]) for k in first)


# --------------------------------------------------------------------------- the registry


def _notebook(assignment: str) -> dict:
    (path,) = (SOLUTIONS / assignment).glob("*.ipynb")
    return json.loads(path.read_text())


def _defined_and_tested(nb: dict) -> tuple[set[str], set[str]]:
    """(functions and classes defined in the notebook's non-test nbgrader cells, its graded test cells)."""
    defined, tests = set(), set()
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader")
        if cell["cell_type"] != "code" or meta is None:
            continue
        if meta.get("grade"):
            tests.add(meta["grade_id"])
            continue
        tree = ast.parse("".join(cell["source"]))
        defined |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return defined, tests


def test_registry_lists_graded_functions_of_the_solutions():
    assert spec.SUITES and not crosscheck.available("06_mnist_classifier")
    for assignment, suite in spec.SUITES.items():
        assert crosscheck.available(assignment)
        checks = spec.checks(assignment)
        assert checks and all(isinstance(c, Check) for c in checks), assignment
        defined, tests = _defined_and_tested(_notebook(assignment))
        assert {c.function for c in checks} <= defined, (assignment, {c.function for c in checks} - defined)
        covered = {t for c in checks for t in c.tests}
        assert covered == tests, (assignment, covered ^ tests)
        assert len({c.name for c in checks}) == len(checks), f"{assignment}: two checks with one name"
        assert suite.calls_per_check >= 1 and 0 < suite.call_seconds * child.CELL_CALLS <= suite.child_seconds


# --------------------------------------------------------------------------- cells and the child's loop


def _nb() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# f"),
                nbformat.v4.new_code_cell("import numpy as np", metadata={"nbgrader": {"grade": False}}),
                nbformat.v4.new_code_cell("def f(x):\n    return x", metadata={"nbgrader": {"solution": True}}),
                nbformat.v4.new_code_cell("assert f(1) == 1", metadata={"nbgrader": {"grade": True}}),
                nbformat.v4.new_code_cell("scratch = 1")]
    return nb


def test_cells_that_run():
    nb = _nb()
    assert engine.submission_cells(nb) == ["import numpy as np", "def f(x):\n    return x", "scratch = 1"]
    assert engine.submission_cells(nb, skip={2}) == ["import numpy as np", "scratch = 1"]
    assert engine.solution_cells(nb) == ["import numpy as np", "def f(x):\n    return x"]


def test_child_runs_cells_and_calls_checks_in_process():
    namespace = {"__name__": "__main__"}
    errors = child.run_cells(["import numpy as np", "raise ValueError('no')", "def f(x):\n    return 2 * x",
                              "def g(x):\n    raise KeyError(x)"], namespace, 5)
    assert errors == ["cell 1: ValueError: no"]
    checks = (Check("f", "f", (), _no_args), Check("g", "g", (), _no_args))
    inputs = npz.pack_inputs({(0, 0): (np.arange(3),), (0, 1): (4,), (1, 0): (1,)})
    returned, failed = child.call_checks(checks, namespace, inputs, 5)
    assert [p.tolist() for p in returned[0, 0]] == [[0.0, 2.0, 4.0]] and returned[0, 1][0].dtype == np.float64
    assert failed == {(1, 0): "KeyError: 1"}
