"""Chapter 3 (numerical gradient checking) graded end to end through `python -m autograder grade`.

The known-wrong checkers include the two classic ones: a checker that does not restore the
parameter it perturbs, and a one-sided difference.
"""

from classes import KERNEL_CHEATS, Chapter, standard_tests

NUM, RESTORE, REL, CHECK = ("test_numerical_gradient", "test_numerical_gradient_restores", "test_relative_error",
                            "test_gradient_check")

CH = Chapter(
    assignment="03_gradient_check",
    notebook="gradient_check",
    points={NUM: 2, RESTORE: 1, REL: 1, CHECK: 3},
    mutants={
        "one_sided_difference": (
            {"numerical_gradient": [("x[idx] = old - eps\n            f_minus = f()", "x[idx] = old\n            f_minus = f()"),
                                    ("grad[idx] = (f_plus - f_minus) / (2 * eps)", "grad[idx] = (f_plus - f_minus) / eps")]},
            {NUM, CHECK},
        ),
        "never_restores_the_parameter": (
            {"numerical_gradient": [("finally:\n            x[idx] = old", "finally:\n            pass")]},
            {NUM, RESTORE, CHECK},
        ),
        "no_restore_when_f_raises": (
            {"numerical_gradient": [("        try:\n", "        if True:\n"),
                                    ("        finally:\n            x[idx] = old", "        x[idx] = old")]},
            {RESTORE},
        ),
        "relative_error_without_floor": (
            {"relative_error": [("np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))")]},
            {REL},
        ),
        "relative_error_mean_not_max": (
            {"relative_error": [("result = float(np.max(err))", "result = float(np.mean(err))")]},
            {REL},
        ),
        "check_reports_the_wrong_index": (
            {"gradient_check": [("np.argmax(errs)", "np.argmin(errs)")]},
            {CHECK},
        ),
        "check_ignores_the_tolerance": (
            {"gradient_check": [("ok = error < tol", "ok = error < 1.0")]},
            {CHECK},
        ),
        "check_verdict_from_the_last_parameter_only": (
            {"gradient_check": [('report["passed"] = report["passed"] and ok', 'report["passed"] = ok')]},
            {CHECK},
        ),
    },
    cheats=KERNEL_CHEATS,
)


globals().update(standard_tests(CH))
