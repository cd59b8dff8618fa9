"""Chapter 3 (03_gradient_check): numerical gradients, relative error and the gradient check."""

import numpy as np

from .spec import Check, Namespace, Rng

GC_PARAMS = ("x", "w", "c")  # the parameters of the gradient_check check's function


def numerical_inputs(rng: Rng) -> tuple:
    return rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal((4, 2))


def numerical_results(namespace: Namespace, A: np.ndarray, x: np.ndarray, u: np.ndarray) -> tuple:
    """The gradient of sum(tanh(A x) u) with the default step and with eps=1e-2."""
    grad = namespace["numerical_gradient"]

    def f() -> float:
        return float(np.sum(np.tanh(A @ x) * u))

    return grad(f, x), grad(f, x, eps=1e-2)


def restores_inputs(rng: Rng) -> tuple:
    return (rng.standard_normal((3, 4)),)


def restores_results(namespace: Namespace, x: np.ndarray) -> tuple[float, float, float]:
    """Whether x is restored after the call, whether an exception from f propagates, and whether x
    is restored after that exception."""
    grad, before = namespace["numerical_gradient"], x.copy()
    grad(lambda: float(np.sum(x ** 3) + np.prod(x[0])), x, eps=1e-3)
    restored = np.array_equal(x, before)
    f_calls = []

    def failing() -> float:
        f_calls.append(1)
        if len(f_calls) == 3:
            raise FloatingPointError("the model blew up")
        return float(np.sum(x))

    try:
        grad(failing, x, eps=0.5)
        propagated = False
    except FloatingPointError:
        propagated = True
    return float(restored), float(propagated), float(np.array_equal(x, before))


def relative_inputs(rng: Rng) -> tuple:
    a = rng.standard_normal((3, 4))
    b = a + rng.standard_normal((3, 4)) * 1e-3
    b[1, 2] = a[1, 2] * 1.5
    a[0, 0] = b[0, 0] = 0.0
    return a, b


def relative_results(namespace: Namespace, a: np.ndarray, b: np.ndarray) -> tuple:
    fn = namespace["relative_error"]
    return fn(a, b), fn(np.array([1e-12]), np.array([3e-12]))


def true_gradients(A: np.ndarray, u: np.ndarray, v: np.ndarray, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradients of f = sum(tanh(A x) u) + sum(w^3 v) + sum(sin c) (none of them a course exercise)."""
    return {"x": A.T @ ((1 - np.tanh(A @ p["x"]) ** 2) * u), "w": 3 * p["w"] ** 2 * v, "c": np.cos(p["c"])}


def gradient_check_inputs(rng: Rng) -> tuple:
    while True:  # as the hidden test: no tiny gradient entry, where rounding makes relative errors large
        A, u, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal(5)
        p = {"x": rng.standard_normal((3, 2)), "w": rng.standard_normal(5), "c": rng.uniform(-1.2, 1.2, (2, 3))}
        if min(np.abs(g).min() for g in true_gradients(A, u, v, p).values()) > 1e-2:
            break
    which = int(rng.integers(len(GC_PARAMS)))
    entry = int(rng.integers(p[GC_PARAMS[which]].size))
    return A, u, v, p["x"], p["w"], p["c"], which, int(rng.integers(3)), entry


def gradient_check_results(namespace: Namespace, A: np.ndarray, u: np.ndarray, v: np.ndarray, x: np.ndarray,
                           w: np.ndarray, c: np.ndarray, which: int, kind: int, entry: int) -> tuple:
    """One report with correct gradients, one with a planted bug in one parameter (zero, 1% off
    everywhere, or one entry off): the verdicts, the errors, the worst index of a one-entry bug (-1 for the
    others, whose worst entry is a matter of rounding), and whether the parameters were restored."""
    p = {"x": x, "w": w, "c": c}
    before = {k: a.copy() for k, a in p.items()}

    def f() -> float:
        return float(np.sum(np.tanh(A @ p["x"]) * u) + np.sum(p["w"] ** 3 * v) + np.sum(np.sin(p["c"])))

    good = true_gradients(A, u, v, before)
    bad = GC_PARAMS[which]
    wrong = [np.zeros_like(good[bad]), good[bad] * 1.01, good[bad].copy()][kind]
    if kind == 2:
        wrong.flat[entry] += 0.1 * (1 + abs(wrong.flat[entry]))
    out = []
    for grads in (good, {**good, bad: wrong}):
        report = namespace["gradient_check"](f, p, {k: g.copy() for k, g in grads.items()})
        out.append(float(report["passed"] == True))  # noqa: E712 - numpy booleans too
        out += [float(report["params"][k]["passed"] == True) for k in GC_PARAMS]  # noqa: E712
        out += [float(report["params"][k]["error"]) for k in GC_PARAMS]
    index = report["params"][bad]["index"]
    out.append(np.ravel_multi_index(tuple(int(i) for i in index), good[bad].shape) if kind == 2 else -1)
    # eps and tol given by keyword: a correct gradient checked with a step of 1e-2 (its errors show the
    # truncation error of that step), and a gradient 1% off everywhere (relative error 0.01 / 2.01)
    # with tol=1e-2, where it passes, and tol=1e-3, where it fails.
    report = namespace["gradient_check"](f, p, {k: g.copy() for k, g in good.items()}, eps=1e-2, tol=1.0)
    out += [float(report["params"][k]["error"]) for k in GC_PARAMS]
    for tol in (1e-2, 1e-3):
        report = namespace["gradient_check"](f, p, {**{k: g.copy() for k, g in good.items()}, bad: good[bad] * 1.01},
                                             tol=tol)
        out += [float(report["params"][k]["passed"] == True) for k in GC_PARAMS]  # noqa: E712
    out.append(float(all(np.array_equal(p[k], before[k]) for k in p)))
    return tuple(out)


CHECKS = (
    Check("numerical_gradient", "numerical_gradient", ("test_numerical_gradient",), numerical_inputs,
          adapter=numerical_results, labels=("gradient with the default eps", "gradient with eps=1e-2")),
    Check("numerical_gradient restores x", "numerical_gradient", ("test_numerical_gradient_restores",),
          restores_inputs, adapter=restores_results,
          labels=("x restored", "an exception from f propagated", "x restored after the exception")),
    Check("relative_error", "relative_error", ("test_relative_error",), relative_inputs, adapter=relative_results,
          labels=("relative_error(a, b)", "relative_error of tiny values")),
    Check("gradient_check", "gradient_check", ("test_gradient_check",), gradient_check_inputs,
          adapter=gradient_check_results, rtol=1e-4, atol=1e-6,
          labels=("verdict with correct gradients", *(f"verdict on {k}" for k in GC_PARAMS),
                  *(f"error of {k}" for k in GC_PARAMS), "verdict with a planted bug",
                  *(f"verdict on {k} (planted bug)" for k in GC_PARAMS),
                  *(f"error of {k} (planted bug)" for k in GC_PARAMS), "worst index of a one-entry bug",
                  *(f"error of {k} with eps=1e-2" for k in GC_PARAMS),
                  *(f"verdict on {k} with tol={tol} (one 1% off)" for tol in ("1e-2", "1e-3") for k in GC_PARAMS),
                  "parameters unchanged")),
)
