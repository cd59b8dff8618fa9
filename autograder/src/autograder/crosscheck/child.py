"""What runs next to student code: ``python -I -m autograder.crosscheck ASSIGNMENT CELLS INPUTS RESULTS``
(or ``--serve ASSIGNMENT``: the solution oracle, :mod:`.oracle`).

In the sandbox it runs a submission's code cells; outside it, in a process of its own, the
instructor's. It is a plain Python interpreter (no IPython: no input transformers, no magics) that
runs the cells, calls each check on every set of inputs, and writes what came back as float64
arrays (:mod:`.npz`). Every cell and every call has a time limit (SIGALRM).
"""

import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import numpy as np

from . import npz, spec
from .spec import Namespace

CELL_CALLS = 3  # a notebook cell may take as long as this many calls


class _Timeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise ``_Timeout`` in the block after ``seconds`` (the main thread's alarm)."""

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise _Timeout(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def plain_python(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) becomes plain Python that fails at run time, not a SyntaxError."""
    try:
        compile(source, "<cell>", "exec")
        return source  # plain Python already (IPython is slow to import: only when needed)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def run_cells(cells: list[str], namespace: Namespace, seconds: int) -> list[str]:
    """Run every cell in ``namespace`` (each for at most ``seconds``); return one line per cell that failed."""
    errors = []
    for n, source in enumerate(cells):
        try:
            with time_limit(seconds):
                exec(compile(plain_python(source), f"<cell {n}>", "exec"), namespace)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - a failing cell is the submission's
            errors.append(f"cell {n}: {type(exc).__name__}: {str(exc)[:200]}")
    return errors


def call_checks(checks: tuple[spec.Check, ...], namespace: Namespace, inputs: npz.Arrays,
                seconds: int) -> tuple[dict[npz.CallId, list[np.ndarray]], dict[npz.CallId, str]]:
    """Call every check on each of its sets of inputs; return (what each call returned, as float64
    arrays; why the others failed)."""
    returned, errors = {}, {}
    for (index, call), args in npz.group_inputs(inputs).items():
        args = [a.item() if a.ndim == 0 else a.copy() for a in args]
        try:
            with time_limit(seconds):
                parts = [np.array(part, dtype=np.float64) for part in checks[index].results(namespace, args)]
            returned[index, call] = parts
        except BaseException as exc:  # noqa: BLE001 - whatever the submission raised
            errors[index, call] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return returned, errors


def child(assignment: str, cells_path: Path, inputs_path: Path, results_path: Path) -> None:
    """Run the cells, call the checks, write what they returned."""
    checks, suite = spec.checks(assignment), spec.SUITES[assignment]
    cells = json.loads(Path(cells_path).read_text())
    inputs = npz.load(inputs_path)
    namespace: Namespace = {"__name__": "__main__"}
    cell_errors = run_cells(cells, namespace, suite.call_seconds * CELL_CALLS)
    returned, errors = call_checks(checks, namespace, inputs, suite.call_seconds)
    npz.save(Path(results_path), npz.pack_results(returned, errors, cell_errors))


def serve(assignment: str) -> None:
    """The solution oracle (:mod:`.oracle`): run the instructor's cells once, then answer requests.

    The first line on stdin is the cells (a JSON list of sources); each later line is a request,
    ``[INPUTS, RESULTS]`` (two paths, as JSON). The answer is the results file, as :func:`child`
    writes it, then the line ``done`` on stdout. Only the instructor's code runs here, never a
    student's.
    """
    requests, replies = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # what the cells print or read never mixes with the requests and answers
    os.dup2(devnull, 1)
    checks, suite = spec.checks(assignment), spec.SUITES[assignment]
    cells = json.loads(requests.readline())
    namespace: Namespace = {"__name__": "__main__"}
    cell_errors = run_cells(cells, namespace, suite.call_seconds * CELL_CALLS)
    for line in requests:
        inputs_path, results_path = json.loads(line)
        returned, errors = call_checks(checks, namespace, npz.load(Path(inputs_path)), suite.call_seconds)
        npz.save(Path(results_path), npz.pack_results(returned, errors, cell_errors))
        replies.write(f"{SERVED}\n")
        replies.flush()


SERVED = "done"


def main(argv: list[str] | None = None) -> int:
    """The child's command line; its exit status (1: it failed, with a traceback on stderr)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["--serve"]:
            serve(args[1])
        else:
            assignment, cells, inputs, results = args
            child(assignment, Path(cells), Path(inputs), Path(results))
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        return 1
    return 0
