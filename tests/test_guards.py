"""The guards that hidden tests put around backward passes and Keras cells (autograder.guards).

Fast: a small RNN written here (its own forward and chain-rule backward, independent of the
notebooks), and honest and dishonest ways to get its gradients. The figures behind the cost
bound are printed by ``benchmarks/backward_guard.py``.
"""

import functools
import types

import numpy as np
import pytest

from autograder import guards
from autograder.gradients import oracle_gradient

N, T, D, H = 8, 20, 16, 32


def forward(x, h0, W, U, b):
    hs, h = [], h0
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs.append(h)
    return np.stack(hs, 1), (x, h0, W, U, np.stack(hs, 1))


def backward(dh, cache):
    x, h0, W, U, hs = cache
    dx, dW, dU, db = np.zeros_like(x), np.zeros_like(W), np.zeros_like(U), np.zeros(U.shape[0])
    carry = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        da = (dh[:, t] + carry) * (1 - hs[:, t] ** 2)
        prev = hs[:, t - 1] if t else h0
        dx[:, t], carry = da @ W.T, da @ U.T
        dW += x[:, t].T @ da
        dU += prev.T @ da
        db += da.sum(0)
    return dx, carry, dW, dU, db


def problem(seed=0, sizes=(N, T, D, H)):
    n, t, d, h = sizes
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((n, t, d)), rng.uniform(-1, 1, (n, h)), rng.standard_normal((d, h)) / 4,
            rng.standard_normal((h, h)) / 6, rng.standard_normal(h) * 0.1)
    return args, rng.standard_normal((n, t, h))


def differences(dh, cache, use_forward=True):
    """A 'backward pass' by central differences of the forward pass, over every input."""
    x, h0, W, U, hs = cache
    b = np.arctanh(np.clip(hs[:, 0], -0.999999, 0.999999)) - x[:, 0] @ W - h0 @ U  # recovered bias rows
    args = [x, h0, W, U, b[0]]
    grads = []
    for k in (0, 1, 2, 3, 4):
        g = np.zeros_like(args[k])
        for idx in np.ndindex(g.shape):
            vals = []
            for step in (1e-5, -1e-5):
                a = [v.copy() for v in args]
                a[k][idx] += step
                if use_forward:
                    vals.append(np.sum(forward(*a)[0] * dh))
                else:  # the forward pass inlined: no function call at all
                    h, total = a[1], 0.0
                    for t in range(a[0].shape[1]):
                        h = np.tanh(a[0][:, t] @ a[2] + h @ a[3] + a[4])
                        total += np.sum(h * dh[:, t])
                    vals.append(total)
            g[idx] = (vals[0] - vals[1]) / 2e-5
        grads.append(g)
    return tuple(grads)


def test_the_chain_rule_passes_and_is_right():
    args, dh = problem(sizes=(2, 4, 3, 5))
    _, cache = forward(*args)
    got = guards.backward_pass("backward", backward, dh, cache, forwards=(forward,), forward_budget=2)
    want = oracle_gradient(lambda W: np.sum(forward(args[0], args[1], W, args[3], args[4])[0] * dh), args[2])
    np.testing.assert_allclose(got[2], want, rtol=1e-7, atol=1e-9)


def test_calling_the_oracle_fails():
    args, dh = problem(sizes=(2, 3, 2, 3))
    _, cache = forward(*args)

    def cheat(dh, cache):
        x, h0, W, U, hs = cache
        return oracle_gradient(lambda v: np.sum(forward(x, h0, v, U, np.zeros(U.shape[0]))[0] * dh), W)

    with pytest.raises(AssertionError, match="the course's gradient oracle"):
        guards.backward_pass("cheat", cheat, dh, cache)


def test_an_autodiff_library_fails():
    """A call into a module called tensorflow.* (a stand-in: the real one is in the fixture classes)."""
    fake = types.ModuleType("tensorflow.python.eager.backprop")
    exec("def gradient(x):\n    return x * 0\n", fake.__dict__)  # noqa: S102

    with pytest.raises(AssertionError, match="TensorFlow"):
        guards.backward_pass("cheat", lambda v: fake.gradient(v), np.ones(3))


def test_differences_around_the_forward_fail_by_count():
    args, dh = problem(sizes=(2, 3, 2, 3))
    _, cache = forward(*args)
    with pytest.raises(AssertionError, match=r"ran your forward functions \d+ times"):
        guards.backward_pass("cheat", differences, dh, cache, forwards=(forward,), forward_budget=4)


def test_recomputing_the_forward_once_is_allowed():
    args, dh = problem(sizes=(2, 3, 2, 3))
    _, cache = forward(*args)

    def checkpointed(dh, cache):
        x, h0, W, U, _ = cache
        _, fresh = forward(x, h0, W, U, np.zeros(U.shape[0]))
        return backward(dh, cache)

    guards.backward_pass("checkpointed", checkpointed, dh, cache, forwards=(forward,), forward_budget=2)


def test_the_cost_bound_separates_the_chain_rule_from_inline_differences():
    args, dh = problem()
    _, cache = forward(*args)
    ratio = guards.backward_cost("backward", lambda: forward(*args), lambda: backward(dh, cache))
    assert ratio < guards.COST_BOUND / 5  # measured 2-4
    with pytest.raises(AssertionError, match="times as long as"):
        guards.backward_cost("inline differences", lambda: forward(*args),
                             lambda: differences(dh, cache, use_forward=False))


# ---- Keras cells

keras = pytest.importorskip("keras")


def _notebook_class(source, **names):
    """A class defined as a notebook cell defines it: in a namespace whose __name__ is __main__."""
    namespace = {"__name__": "__main__", "keras": keras, **names}
    exec(source, namespace)  # noqa: S102
    return namespace


OWN = """
class Cell(keras.layers.Layer):
    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, x, states):
        h = keras.ops.tanh(x @ self.kernel + states[0])
        return h, [h]
"""


def test_a_cell_written_in_the_notebook_passes():
    cls = _notebook_class(OWN)["Cell"]
    guards.own_keras_cell("Cell", cls, cls(3))


@pytest.mark.parametrize("make", [
    lambda: keras.layers.LSTMCell,
    lambda: functools.partial(keras.layers.GRUCell, reset_after=False),
    lambda: _notebook_class("class Cell(keras.layers.LSTMCell):\n    pass\n")["Cell"],
    lambda: _notebook_class("class Cell(keras.layers.GRUCell):\n    def __init__(self, u, **kw):\n"
                            "        super().__init__(u, reset_after=False, **kw)\n")["Cell"],
    lambda: _notebook_class("class Cell(keras.layers.Layer):\n    pass\n")["Cell"],
    lambda: type("Cell", (keras.layers.Layer,), {"call": lambda self, x: x}),  # call from another module
    lambda: _notebook_class("class Cell(keras.layers.Layer):\n    call = keras.layers.SimpleRNNCell.call\n")["Cell"],
], ids=["alias", "partial", "subclass", "subclass_with_own_init", "no_call", "call_elsewhere", "borrowed_call"])
def test_keras_own_cells_in_disguise_fail(make):
    with pytest.raises(AssertionError):
        guards.own_keras_cell("Cell", make())


def test_a_keras_cell_inside_fails():
    ns = _notebook_class("""
class Cell(keras.layers.Layer):
    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.inner = keras.layers.LSTMCell(units)
        self.state_size = self.inner.state_size

    def call(self, x, states):
        return self.inner(x, states)
""")
    cell = ns["Cell"](3)
    keras.layers.RNN(cell)(np.zeros((1, 2, 4), "float32"))
    with pytest.raises(AssertionError, match="inside"):
        guards.own_keras_cell("Cell", ns["Cell"], cell)


def test_the_benchmark_runs():
    """Smoke test of benchmarks/backward_guard.py on a tiny problem (its figures are in the notes)."""
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "backward_guard.py"), "--sizes", "2", "4", "3", "4",
                           "--repeat", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "full BPTT (chain rule)" in proc.stdout and "differences over every input" in proc.stdout


def test_the_instructor_guide_states_the_bound_in_force():
    from conftest import ROOT

    text = " ".join((ROOT / "book" / "instructors.md").read_text().split())
    assert f"may take at most {guards.COST_BOUND:.0f} times as long as the student's own forward pass" in text


def test_the_harness_is_not_an_oracle():
    """A debugging call of the checking harness inside a backward pass is fine; only the oracle is not."""
    from autograder import checks

    def debugging(v):
        checks.shape("v", v, (3,))
        return v

    guards.backward_pass("debugging", debugging, np.ones(3))


def test_switching_the_watch_off_fails():
    import sys

    def sneaky(v):
        sys.setprofile(None)
        return v

    with pytest.raises(AssertionError, match="profiler"):
        guards.backward_pass("sneaky", sneaky, np.ones(3))
