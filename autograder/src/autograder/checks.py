"""The checking harness that the exercises' test cells call.

Each check raises ``AssertionError`` with a message that says what is wrong: which output,
where (batch row, time step, unit), by how much, and with which seed the inputs were drawn.
Results are coerced to float64 arrays first, so objects that pretend to be arrays or
numbers are judged by their values.
"""

import warnings
from contextlib import contextmanager

import numpy as np

from .gradients import relative_errors

DEFAULT_RTOL = 1e-7
DEFAULT_ATOL = 1e-10


def _suffix(seed, hint):
    parts = []
    if hint:
        parts.append(f"Hint: {hint}")
    if seed is not None:
        parts.append(f"(random inputs drawn with seed {seed})")
    return (" " + " ".join(parts)) if parts else ""


def as_array(name, value, *, seed=None):
    """``value`` as a float64 numpy array, or a clear failure."""
    if value is None:
        raise AssertionError(f"{name} is None: did the function forget to return it?{_suffix(seed, None)}")
    try:
        arr = np.array(value, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure to convert is the student's to see
        raise AssertionError(
            f"{name} should be a numeric array, got {type(value).__name__} ({exc}).{_suffix(seed, None)}"
        ) from None
    return arr


def shape(name, value, expected, dims=None, *, seed=None):
    """Check ``value.shape == expected``; ``dims`` names the axes, e.g. ``"N, T, H"``."""
    arr = as_array(name, value, seed=seed)
    expected = tuple(int(n) for n in expected)
    if arr.shape != expected:
        label = f"({dims}) = {expected}" if dims else f"{expected}"
        raise AssertionError(f"{name} should have shape {label}, got {arr.shape}.{_suffix(seed, None)}")
    return arr


def _where(index, dims):
    if not dims:
        return f"index {tuple(int(i) for i in index)}"
    return ", ".join(f"{d} {int(i)}" for d, i in zip(dims, index))


def close(name, actual, expected, *, dims=None, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, seed=None, hint=None):
    """Check ``actual`` against ``expected`` elementwise: wrong where |a - e| > atol + rtol (|a| + |e|).

    ``dims`` names the axes (for example ``("batch row", "time step", "hidden unit")``) so that
    a failure says where the first wrong entry is; an axis called ``"time step"`` also gets
    the first wrong time step reported.
    """
    actual = as_array(name, actual, seed=seed)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name} should have shape {expected.shape}, got {actual.shape}.{_suffix(seed, hint)}")
    if actual.size == 0:
        return
    bad_values = ~np.isfinite(actual)
    if bad_values.any():
        idx = np.argwhere(bad_values)[0]
        raise AssertionError(
            f"{name} contains {actual[tuple(idx)]} at {_where(idx, dims)} where {expected[tuple(idx)]:.6g} "
            f"was expected.{_suffix(seed, hint)}"
        )
    diff = np.abs(actual - expected)
    allowed = atol + rtol * (np.abs(actual) + np.abs(expected))
    wrong = diff > allowed
    if not wrong.any():
        return
    err = relative_errors(actual, expected)
    worst = np.unravel_index(np.argmax(diff / allowed), diff.shape)
    first = np.argwhere(wrong)[0]
    msg = (
        f"{name} is wrong in {int(wrong.sum())} of {wrong.size} entries. First at {_where(first, dims)}: "
        f"got {actual[tuple(first)]:.6g}, expected {expected[tuple(first)]:.6g}. "
        f"Largest error at {_where(worst, dims)}: {diff[worst]:.2e} absolute, {err[worst]:.2e} relative "
        f"(tolerance {rtol:.0e} relative, {atol:.0e} absolute)."
    )
    if dims and "time step" in dims:
        axis = list(dims).index("time step")
        other = tuple(i for i in range(wrong.ndim) if i != axis)
        wrong_t = np.flatnonzero(wrong.any(axis=other))
        msg += f" Wrong time steps: {', '.join(str(t) for t in wrong_t[:10])}{' ...' if len(wrong_t) > 10 else ''}."
    raise AssertionError(msg + _suffix(seed, hint))


def scalar(name, actual, expected, *, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, seed=None, hint=None):
    """Check a scalar result (a Python or numpy number, or a 0-d array)."""
    arr = as_array(name, actual, seed=seed)
    if arr.shape != ():
        raise AssertionError(f"{name} should be a single number, got an array of shape {arr.shape}.{_suffix(seed, hint)}")
    close(name, arr, expected, rtol=rtol, atol=atol, seed=seed, hint=hint)


@contextmanager
def no_warnings(what):
    """Turn every warning raised inside the block (numpy overflow included) into a failure."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        yield
    if caught:
        w = caught[0]
        raise AssertionError(f"{what} emitted a warning: {w.category.__name__}: {w.message}")


def check(condition, message):
    """``assert condition, message`` that also works under ``python -O``."""
    if not condition:
        raise AssertionError(message)
