"""Numerical oracles for gradients, used by hidden tests and by the book.

Deliberately not the chapter-3 exercise, and named so that it cannot be taken for it: chapter 3's
``numerical_gradient(f, x, eps)`` calls ``f()`` and perturbs ``x`` in place; the oracle
``oracle_gradient(f, x)`` calls ``f(x_copy)``, never modifies ``x``, works in float64 with a
fourth-order central difference. Hidden tests import it inside their own functions, so a name a
student defines in the notebook never changes it.
"""

import numpy as np


def relative_error(a, b, floor: float = 1e-8) -> float:
    """max |a - b| / max(floor, |a| + |b|), taken elementwise, then the max over elements."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)), initial=0.0))


def relative_errors(a, b, floor: float = 1e-8) -> np.ndarray:
    """Elementwise |a - b| / max(floor, |a| + |b|)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))


def oracle_gradient(f, x, eps: float = 1e-4):
    """Gradient of the scalar ``f(x)`` at ``x`` by a fourth-order central difference.

    ``f`` takes an array shaped like ``x``; ``x`` itself is never modified.
    Error O(eps**4): with eps = 1e-4 in float64 it is limited by rounding (about 1e-11).
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        values = []
        for step in (2.0, 1.0, -1.0, -2.0):
            xp = x.copy()
            xp[idx] += step * eps
            values.append(float(f(xp)))
        f2, f1, fm1, fm2 = values
        grad[idx] = (-f2 + 8.0 * f1 - 8.0 * fm1 + fm2) / (12.0 * eps)
    return grad
