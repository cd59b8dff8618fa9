"""The checking harness, the gradient oracle and the feedback filter, tested on their own."""

import nbformat
import numpy as np
import pytest

from autograder import checks, gradients, seeding
from autograder.grader.preprocessors import ShortenTestTracebacks


def test_close_names_the_time_step_and_seed():
    want = np.zeros((2, 4, 3))
    got = want.copy()
    got[1, 2, 0] = 0.5
    got[0, 3, 1] = 0.1
    with pytest.raises(AssertionError) as err:
        checks.close("h", got, want, dims=("batch row", "time step", "hidden unit"), seed=42, hint="look at t")
    msg = str(err.value)
    assert "h is wrong in 2 of 24 entries" in msg
    assert "First at batch row 0, time step 3, hidden unit 1: got 0.1, expected 0" in msg
    assert "Wrong time steps: 2, 3." in msg
    assert "seed 42" in msg and "Hint: look at t" in msg
    checks.close("h", want + 1e-12, want)  # within tolerance


def test_close_rejects_shapes_nan_and_non_arrays():
    with pytest.raises(AssertionError, match=r"should have shape \(2, 3\), got \(3, 2\)"):
        checks.close("x", np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(AssertionError, match="contains nan"):
        checks.close("x", [np.nan], [1.0])
    with pytest.raises(AssertionError, match="is None"):
        checks.close("x", None, [1.0])
    with pytest.raises(AssertionError, match="numeric array"):
        checks.close("x", object(), [1.0])


def test_objects_that_claim_equality_are_judged_by_value():
    class Liar:
        def __eq__(self, other):
            return True

    with pytest.raises(AssertionError):
        checks.close("x", Liar(), [1.0])


def test_shape_and_scalar():
    with pytest.raises(AssertionError, match=r"should have shape \(N, H\) = \(4, 5\), got \(5, 4\)"):
        checks.shape("h", np.zeros((5, 4)), (4, 5), "N, H")
    with pytest.raises(AssertionError, match="single number"):
        checks.scalar("loss", np.zeros(3), 0.0)
    checks.scalar("loss", np.float32(0.5), 0.5, rtol=1e-6)


def test_no_warnings_catches_overflow_but_not_underflow():
    with pytest.raises(AssertionError, match="overflow"):
        with checks.no_warnings("exp"):
            np.exp(np.array([1000.0]))
    with checks.no_warnings("exp"):
        np.exp(np.array([-2000.0]))


def test_numerical_gradient_against_calculus():
    rng = seeding.rng(seeding.fresh_seed())
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = gradients.oracle_gradient(lambda v: np.sum(np.sin(v) * v**2), x)
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)
    # Rounding limits a difference quotient to about 1e-16 * |f| / eps = 1e-11 absolute: near a
    # zero of the gradient that is a large relative error, so bound both.
    np.testing.assert_allclose(grad, exact, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x, before)


def test_relative_error():
    assert gradients.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradients.relative_error([1.0], [3.0]) == pytest.approx(0.5)
    assert gradients.relative_error([0.0], [1e-12]) == pytest.approx(1e-4)  # the floor of 1e-8


def test_fresh_seeds_differ():
    assert len({seeding.fresh_seed() for _ in range(20)}) > 15


def test_feedback_tracebacks_are_cut_to_the_last_line():
    test = nbformat.v4.new_code_cell("secret_hidden_line()")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1, "locked": True}
    test.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="h is wrong",
                                           traceback=["Traceback", "----> 3 secret_hidden_line()", "AssertionError: h is wrong"])]
    student = nbformat.v4.new_code_cell("mine()")
    student.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=["a", "b"])]
    nb = nbformat.v4.new_notebook(cells=[test, student])
    nb, _ = ShortenTestTracebacks().preprocess(nb, {})
    assert nb.cells[0].outputs[0]["traceback"] == ["AssertionError: h is wrong"]
    assert nb.cells[1].outputs[0]["traceback"] == ["a", "b"]  # the student's own code keeps its traceback
