"""Guards that hidden tests (and the cross-check) put around a student's function.

A value check cannot tell *how* a result was made. Two exercises need more than values:

- a **backward pass** must apply the chain rule to the forward pass's cache. Differences of the
  forward pass (the package's oracle, a loop written by hand, calling the forward again and
  again) or an autodiff library give the same numbers, so :func:`backward_pass` watches the call:
  no call into a gradient oracle or an autodiff library, at most a few calls of the forward
  functions (recomputing the forward once, as checkpointing does, is fine), and
  :func:`backward_cost` bounds its time against the student's own forward on a problem where
  differences cost thousands of forward passes and the chain rule a few;
- a **Keras cell** must be written in the notebook: :func:`own_keras_cell` refuses a class that
  is, aliases, wraps or inherits from Keras' recurrent cells or layers.

Every failure is an ``AssertionError`` whose message says what was seen and what is expected,
so the student reads it in their feedback like any other failed check.
"""

import inspect
import sys
import time

# Modules a backward pass must not call into (by the ``__name__`` of the called function's module).
FORBIDDEN_MODULES = ("autograder.gradients", "tensorflow", "keras", "jax", "autograd", "torch", "scipy.optimize",
                     "scipy.differentiate", "numdifftools")
WHAT = {"autograder.gradients": "the course's gradient oracle", "tensorflow": "TensorFlow (GradientTape)",
        "keras": "Keras", "jax": "JAX", "autograd": "autograd", "torch": "PyTorch",
        "scipy.optimize": "scipy's finite differences", "scipy.differentiate": "scipy's finite differences",
        "numdifftools": "numdifftools"}

# A backward pass may take at most this many times as long as the forward pass it inverts
# (best of a few runs each). benchmarks/backward_guard.py measures, for chapter 2's RNN with N=8,
# T=20, D=16, H=32: a chain-rule backward 2-3x, windowed truncation with k = T-1 and loops over
# batch rows about 20x, loops over single matrix entries a few hundred times, differences of the
# forward over every input about ten thousand times.
COST_BOUND = 100.0


def _forbidden(module):
    for prefix in FORBIDDEN_MODULES:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return None


class _Watch:
    """A profile hook: which forbidden modules were called, and how often the watched code objects ran."""

    def __init__(self, watched_codes):
        self.codes = {code: 0 for code in watched_codes}
        self.seen = []  # forbidden module prefixes reached, in order

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code in self.codes:
            self.codes[code] += 1
        module = frame.f_globals.get("__name__", "") or ""
        hit = _forbidden(module)
        if hit and hit not in self.seen:
            self.seen.append(hit)

    def run(self, fn, args, kwargs):
        previous = sys.getprofile()
        sys.setprofile(self)
        try:
            result = fn(*args, **kwargs)
        finally:
            tampered = sys.getprofile() is not self
            sys.setprofile(previous)
        if tampered:
            raise AssertionError("the function changed Python's profiler (sys.setprofile) while it ran: "
                                 "the test watches the call and cannot judge it otherwise.")
        return result

    @property
    def calls(self):
        return sum(self.codes.values())


def _codes(functions):
    out = []
    for f in functions:
        code = getattr(f, "__code__", None)
        if code is not None:
            out.append(code)
    return out


def forward_calls(forwards, forward, *args, **kwargs):
    """(result of ``forward(*args)``, how many times the functions ``forwards`` ran during it)."""
    watch = _Watch(_codes(forwards))
    result = watch.run(forward, args, kwargs)
    return result, watch.calls


def backward_pass(name, backward, *args, forwards=(), forward_budget=4, seed=None, **kwargs):
    """``backward(*args, **kwargs)``, watched; its result.

    Fails when the call reaches a gradient oracle or an autodiff library (:data:`FORBIDDEN_MODULES`),
    or when the functions in ``forwards`` (the student's forward functions) run more than
    ``forward_budget`` times during it: a backward pass made of differences of the forward pass
    runs it twice per entry of every input.
    """
    watch = _Watch(_codes(forwards))
    result = watch.run(backward, args, kwargs)
    quoted = f" (random inputs drawn with seed {seed})" if seed is not None else ""
    if watch.seen:
        libs = ", ".join(WHAT[m] for m in watch.seen)
        raise AssertionError(
            f"{name} called {libs}. A backward pass computes the gradients itself, by the chain rule, from "
            f"what the forward pass kept in its cache: no numerical differences, no autodiff library.{quoted}")
    if watch.calls > forward_budget:
        raise AssertionError(
            f"{name} ran your forward functions {watch.calls} times (at most {forward_budget} are allowed: "
            f"recomputing the forward pass once is fine). Differences of the forward pass are a gradient "
            f"check, not a backward pass: apply the chain rule to the cache instead.{quoted}")
    return result


def _best_time(fn, repeats):
    """The least wall-clock time of ``repeats`` runs of ``fn()``. (Not CPU time: inside the grading
    sandbox ``time.process_time`` measured 0 for whole forward passes.) A busy machine slows single
    runs, so the best of several counts, and :func:`backward_cost` measures again before failing."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
        if best > 5.0:  # slow enough to judge from one run
            break
    return best


def backward_cost(name, forward, backward, *, forward_name="the forward pass", bound=COST_BOUND, size=""):
    """Check that ``backward()`` costs at most ``bound`` times ``forward()`` (both without arguments).

    Times are the best of a few runs each; a ratio over the bound is measured again (up to three
    times in all, unless it is ten times over) before it fails. Returns the ratio.
    """
    ratios = []
    for attempt in range(3):
        t_forward = max(_best_time(forward, 5), 1e-6)
        t_backward = _best_time(backward, 1 if attempt == 0 else 3)
        ratio = t_backward / t_forward
        if ratio <= bound:
            return ratio
        ratios.append((ratio, t_backward, t_forward))
        if ratio > 10 * bound:
            break
    ratio, t_backward, t_forward = min(ratios)
    raise AssertionError(
        f"{name} took {ratio:,.0f} times as long as {forward_name} on the same problem{size} "
        f"({t_backward * 1e3:.1f} ms against {t_forward * 1e3:.2f} ms; at most {bound:.0f} times is allowed). "
        "A backward pass by the chain rule costs a few forward passes; differences of the forward pass cost "
        "two per entry of every input. If yours applies the chain rule, take loops over single matrix "
        "entries out of it (matrix products do them).")


# ---- Keras cells

def _keras_recurrent_classes():
    import keras

    names = ("RNN", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "SimpleRNN", "GRU", "LSTM",
             "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
    return tuple(getattr(keras.layers, n) for n in names if hasattr(keras.layers, n))


def own_keras_cell(name, cls, instance=None):
    """Check that ``cls`` is a cell class written in the notebook, not Keras' own.

    Refused: anything that is not a class (an alias of an instance, a ``functools.partial``), a
    class that is or inherits from one of Keras' recurrent cells or layers, a class whose ``call``
    is not defined in the notebook, and (given ``instance``, built) a cell holding Keras'
    recurrent layers among its sub-layers.
    """
    builtin = _keras_recurrent_classes()
    if not isinstance(cls, type):
        raise AssertionError(
            f"{name} must be a class you write (`class {name}(keras.layers.Layer): ...`), "
            f"not {type(cls).__name__} {cls!r:.80}: an alias or a partial of Keras' cell is not your cell.")
    inherited = [base.__name__ for base in cls.__mro__ if base in builtin or
                 (base.__module__.startswith("keras.") and ".rnn." in base.__module__)]
    if inherited:
        raise AssertionError(
            f"{name} is or inherits from Keras' {inherited[0]}: write the cell yourself, as a subclass of "
            "keras.layers.Layer with your own build and call.")
    owner = next((base for base in cls.__mro__ if "call" in base.__dict__), None)
    call = None if owner is None else owner.__dict__["call"]
    call = inspect.unwrap(getattr(call, "__func__", call)) if call is not None else None
    if owner is None or owner.__module__ != "__main__" or getattr(call, "__module__", None) != "__main__":
        where = "nowhere" if owner is None else f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', '?')}"
        raise AssertionError(
            f"{name}.call must be written in your notebook (it comes from {where}): the cell's step is "
            "the exercise.")
    if instance is not None:
        inside = [type(m).__name__ for m in instance._flatten_layers(include_self=False) if isinstance(m, builtin)]
        if inside:
            raise AssertionError(f"{name} uses Keras' own {inside} inside: write the cell yourself.")
