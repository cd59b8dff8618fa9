"""What the cross-check checks: the ``Check`` record, and per assignment its chapter and time limits.

Adding a chapter: write ``chNN.py`` (its inputs, call adapters and ``CHECKS``) and give it a line in
``SUITES``. Chapter modules load on first use (:func:`checks`), so that this module needs none of them.
"""

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Namespace = dict[str, Any]  # the globals a notebook's cells ran in
Rng = np.random.Generator
MakeArgs = Callable[[Rng], tuple]  # draws one call's arguments (arrays, ints)
Adapter = Callable[..., Sequence]  # (namespace, *arguments) -> the results to compare


@dataclass(frozen=True)
class Check:
    """One graded function, called on fresh inputs; everything it returns is compared with the solution's."""

    name: str  # what the report calls it
    function: str  # the graded function the report blames
    tests: tuple[str, ...]  # grade ids of the test cells whose points need this to be right
    make_args: MakeArgs
    pick: int | tuple[int, ...] | None = None  # take this element (or these) of a returned tuple
    adapter: Adapter | None = None  # a short program around ``function``, instead of calling it directly
    labels: tuple[str, ...] = ()  # names of the results, for the report
    rtol: float = 1e-6
    atol: float = 1e-9

    def results(self, namespace: Namespace, args: Sequence) -> tuple:
        """The check's results on ``args``, as a tuple (each part becomes a float64 array)."""
        if self.adapter is not None:
            return tuple(self.adapter(namespace, *args))
        value = namespace[self.function](*args)
        if isinstance(self.pick, tuple):
            return tuple(value[k] for k in self.pick)
        return (value if self.pick is None else value[self.pick],)

    def label(self, part: int) -> str:
        """The report's name for result ``part``."""
        return self.labels[part] if part < len(self.labels) else f"result {part}"


@dataclass(frozen=True)
class Suite:
    """One assignment's cross-check: the chapter module that holds its checks, and its limits."""

    chapter: str  # a module of this package, holding ``CHECKS``
    calls_per_check: int = 3  # each call on fresh inputs
    call_seconds: int = 10  # one call in the child; a notebook cell may take three times as long
    child_seconds: int = 120  # the whole child, its cells and every call; the solution gets as long again


# Chapter 5's calls build Keras layers, trace and may compile: one call each, and more time. Chapter 6's
# points come from training runs, which the cross-check does not repeat: it has none.
SUITES: dict[str, Suite] = {
    "01_rnn_forward": Suite("ch01"),
    "02_bptt": Suite("ch02"),
    "03_gradient_check": Suite("ch03"),
    "04_gated_cells": Suite("ch04"),
    "05_tf_cells": Suite("ch05", calls_per_check=1, call_seconds=60, child_seconds=300),
}


def available(assignment: str) -> bool:
    """Whether ``assignment`` has a cross-check."""
    return assignment in SUITES


def checks(assignment: str) -> tuple[Check, ...]:
    """The checks of ``assignment``, in the order their inputs are drawn."""
    return importlib.import_module(f"{__package__}.{SUITES[assignment].chapter}").CHECKS
