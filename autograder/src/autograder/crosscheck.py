"""Cross-check: re-run a submission's graded functions away from nbgrader and compare with the reference.

nbgrader runs student code in the kernel that runs the tests, so a submission can cheat the
tests from inside (patch numpy or the checking harness, empty later cells with an IPython input
transformer, read the expected value from a test's frame, return objects that compare equal
to anything, do any of it only when ``NBGRADER_EXECUTION`` is set). The cross-check does not
trust that kernel:

1. the grader draws fresh inputs for every submission (seeded from the submission and a
   per-run nonce) and writes them to an ``.npz`` file;
2. the submission's code cells (not its test cells, and not the cells the grader had to skip)
   run in a fresh, sandboxed, plain Python interpreter (:func:`child`; no IPython, so no input
   transformers and no magics), which calls each graded function on those inputs and writes
   what it returned as float64 arrays to another ``.npz`` (``allow_pickle=False`` on reading:
   only numbers come back, never objects);
3. the grader, a process that never ran student code, computes the instructor's solution on
   the same inputs (:func:`reference`) and compares.

A check covers the test cells whose points depend on that function behaving as specified
(``Check.tests``). Where nbgrader awarded points on a test cell whose check failed, the
submission is flagged, with the reason. Honest wrong code loses those points in nbgrader too,
so it is not flagged. This module holds the inputs and the wiring, never a solution: the
reference comes from ``solutions/`` at grading time.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHILD_TIMEOUT_PER_CALL = 10  # seconds one function call may take in the child


@dataclass(frozen=True)
class Check:
    name: str  # what the report calls it
    function: str  # the graded function
    tests: tuple  # grade ids of the test cells whose points need this to be right
    make_args: object  # rng -> tuple of arguments (arrays, ints)
    pick: int | None = None  # take this element of a returned tuple
    rtol: float = 1e-6
    atol: float = 1e-9


def _rnn_weights(rng, D, H):
    return rng.standard_normal((D, H)) / np.sqrt(D), rng.standard_normal((H, H)) / np.sqrt(H), rng.standard_normal(H) * 0.5


def _ch1_step(rng):
    N, D, H = rng.integers(1, 6), rng.integers(1, 7), rng.integers(1, 7)
    return (rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H))


def _ch1_forward(rng):
    N, T, D, H = rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 6), rng.integers(1, 6)
    return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)), *_rnn_weights(rng, D, H))


def _ch1_output(rng):
    N, T, H, C = (int(rng.integers(1, 6)) for _ in range(4))
    return rng.uniform(-1, 1, (N, T, H)), rng.standard_normal((H, C)), rng.standard_normal(C)


def _ch1_softmax(rng):
    return (rng.standard_normal((int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 7)))) * 3.0,)


def _ch1_softmax_large(rng):
    scores = rng.standard_normal((3, 4, 5))
    return (scores + rng.choice([-1000.0, 1000.0], size=(3, 4, 1)),)


def _ch1_cross_entropy(rng):
    N, T, C = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(2, 6))
    return rng.standard_normal((N, T, C)) * 2.0, rng.integers(0, C, size=(N, T))


# Which function each test cell's points depend on. A composite test that also accepts a wrong
# helper (test_rnn_forward checks the loop against the student's own rnn_step_forward) is not
# listed: its function is covered by the test that compares with a reference.
SPECS = {
    "01_rnn_forward": (
        Check("rnn_step_forward", "rnn_step_forward", ("test_rnn_step_forward",), _ch1_step, pick=0),
        Check("rnn_forward", "rnn_forward", ("test_rnn_forward_reference",), _ch1_forward, pick=0),
        Check("output_forward", "output_forward", ("test_output_forward",), _ch1_output),
        Check("softmax", "softmax", ("test_softmax",), _ch1_softmax),
        Check("softmax of large scores", "softmax", ("test_softmax_stable",), _ch1_softmax_large),
        Check("cross_entropy", "cross_entropy", ("test_cross_entropy",), _ch1_cross_entropy),
    ),
}

CALLS_PER_CHECK = 3


def available(assignment):
    return assignment in SPECS


# --------------------------------------------------------------------------- inputs


def make_inputs(assignment, seed):
    """{f"{check}_{call}_{arg}": array} for every call of every check, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for i, check in enumerate(SPECS[assignment]):
        for call in range(CALLS_PER_CHECK):
            for j, arg in enumerate(check.make_args(rng)):
                arrays[f"{i}_{call}_{j}"] = np.asarray(arg)
    return arrays


def seed_for(digest, nonce):
    """Inputs of a submission's own: from its hash and a nonce drawn once per grading run."""
    return int.from_bytes(hashlib.sha256(f"{digest}:{nonce}".encode()).digest()[:8], "little")


def _calls(arrays):
    calls = {}
    for key in sorted(arrays, key=lambda k: tuple(int(p) for p in k.split("_"))):
        i, call, j = (int(p) for p in key.split("_"))
        calls.setdefault((i, call), []).append(arrays[key])
    return calls


# --------------------------------------------------------------------------- programs


def code_cells(nb, *, skip=(), include_tests=False):
    """Source of the code cells to run: every code cell but test cells (and ``skip`` indices)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or index in skip or (meta.get("grade") and not include_tests):
            continue
        cells.append(cell.source)
    return cells


def _plain_python(source):
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


def _run_cells(cells, namespace):
    errors = []
    for n, source in enumerate(cells):
        try:
            with _time_limit(CHILD_TIMEOUT_PER_CALL * 3):
                exec(compile(_plain_python(source), f"<cell {n}>", "exec"), namespace)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - a failing cell is the submission's
            errors.append(f"cell {n}: {type(exc).__name__}: {str(exc)[:200]}")
    return errors


class _Timeout(Exception):
    pass


class _time_limit:
    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        self.active = threading.current_thread() is threading.main_thread()
        if not self.active:  # the reference, in a grader thread: trusted code, no alarm needed
            return

        def on_alarm(signum, frame):
            raise _Timeout(f"took longer than {self.seconds} s")

        self.previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(int(self.seconds))

    def __exit__(self, *exc):
        if not self.active:
            return False
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def _call_all(assignment, namespace, arrays):
    """{f"r{i}_{call}": float64 array} and {f"e{i}_{call}": message} for every call."""
    results = {}
    for (i, call), args in _calls(arrays).items():
        check = SPECS[assignment][i]
        args = [a.item() if a.ndim == 0 else a.copy() for a in args]
        try:
            fn = namespace[check.function]
            with _time_limit(CHILD_TIMEOUT_PER_CALL):
                value = fn(*args)
                if check.pick is not None:
                    value = value[check.pick]
                results[f"r{i}_{call}"] = np.array(value, dtype=np.float64)
        except BaseException as exc:  # noqa: BLE001
            results[f"e{i}_{call}"] = np.array(f"{type(exc).__name__}: {str(exc)[:300]}")
    return results


def child(assignment, cells_path, inputs_path, out_path):
    """In the sandbox: run the submission's cells, call its functions, write what they returned."""
    cells = json.loads(Path(cells_path).read_text())
    with np.load(inputs_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    namespace = {"__name__": "__main__"}
    cell_errors = _run_cells(cells, namespace)
    results = _call_all(assignment, namespace, arrays)
    results["cell_errors"] = np.array(json.dumps(cell_errors))
    tmp = Path(str(out_path) + ".tmp.npz")
    np.savez(tmp, **results)
    os.replace(tmp, out_path)


def reference(assignment, solution_nb, arrays):
    """The instructor's functions on the same inputs (run in the grader: trusted code only)."""
    namespace = {"__name__": "__main__"}
    cells = [c.source for c in solution_nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
             and not c.metadata["nbgrader"].get("grade")]  # setup and solution cells only
    errors = _run_cells(cells, namespace)
    if errors:
        raise RuntimeError(f"the instructor notebook of {assignment} failed in the cross-check: {errors[:3]}")
    return _call_all(assignment, namespace, arrays)


# --------------------------------------------------------------------------- comparing


def compare(assignment, got, want, scores, points):
    """(flag reasons, check lines) from the child's results, the reference and nbgrader's scores."""
    reasons, lines = [], []
    for i, check in enumerate(SPECS[assignment]):
        problem = None
        for call in range(CALLS_PER_CHECK):
            if f"r{i}_{call}" not in want:
                raise RuntimeError(f"the reference failed on {check.name}: {want.get(f'e{i}_{call}')}")
            if f"r{i}_{call}" not in got:
                problem = f"it failed: {str(got.get(f'e{i}_{call}', 'no result'))[:200]}"
                break
            a, b = got[f"r{i}_{call}"], want[f"r{i}_{call}"]
            if a.shape != b.shape:
                problem = f"it returned shape {a.shape}, the reference {b.shape}"
                break
            if not np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
                problem = "it returned nan or inf"
                break
            if a.size and not np.allclose(a, b, rtol=check.rtol, atol=check.atol):
                problem = f"it differs from the reference by up to {float(np.max(np.abs(a - b))):.3g}"
                break
        lines.append(f"{check.name}: {'ok' if problem is None else problem}")
        if problem is None:
            continue
        awarded = [t for t in check.tests if scores.get(t, 0.0) > 0]
        if awarded:
            given = ", ".join(f"{t} {scores[t]:g}/{points[t]:g}" for t in awarded)
            reasons.append(f"nbgrader gave {given}, but {check.function}, re-run on fresh inputs outside the "
                           f"grading kernel: {problem}")
    return reasons, lines


def run(assignment, submitted_nb, solution_nb, scores, points, seed, workdir, *, skip=(), sandbox_settings=None,
        timeout=120):
    """Cross-check one submission; return (flag reasons, report lines).

    ``sandbox_settings``: an ``autograder.sandbox.Settings`` to run the child in (None: a plain
    subprocess, for grading without the sandbox).
    """
    from . import sandbox

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    arrays = make_inputs(assignment, seed)
    inputs, cells, out = workdir / "inputs.npz", workdir / "cells.json", workdir / "results.npz"
    np.savez(inputs, **arrays)
    cells.write_text(json.dumps(code_cells(submitted_nb, skip=skip)))
    for path in (inputs, cells):
        os.chmod(path, 0o644)
    cmd = [sys.executable, "-I", "-m", "autograder.crosscheck", assignment, str(cells), str(inputs), str(out)]
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", PYTHONHASHSEED="0")
    if sandbox_settings is not None:
        os.chown(workdir, sandbox_settings.uid, sandbox_settings.uid)
        sandbox_settings.writable = [*sandbox_settings.writable, str(workdir)]
        env[sandbox.ENV_VAR] = sandbox_settings.to_env()
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox", "run", "--", *cmd]
    with tempfile.TemporaryDirectory(prefix="agr-xc-") as cwd:
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=timeout, start_new_session=True)
            detail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] if proc.returncode else []
        except subprocess.TimeoutExpired:
            detail = [f"it did not finish in {timeout} s"]
    got = {}
    try:
        with np.load(out, allow_pickle=False) as data:
            got = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - no results: every check fails
        detail = detail or [f"no results ({type(exc).__name__})"]
    if not got:
        got = {f"e{i}_{c}": np.array("the cross-check could not run the submission's code: " + "; ".join(detail))
               for i in range(len(SPECS[assignment])) for c in range(CALLS_PER_CHECK)}
    want = reference(assignment, solution_nb, arrays)
    reasons, lines = compare(assignment, got, want, scores, points)
    cell_errors = json.loads(str(got["cell_errors"])) if "cell_errors" in got else []
    report = [f"cross-check of {assignment}, inputs drawn with seed {seed}", *lines,
              *(f"(a cell failed outside the grading kernel: {e})" for e in cell_errors)]
    (workdir / "report.txt").write_text("\n".join(report + [f"FLAGGED: {r}" for r in reasons]) + "\n")
    return reasons, report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    assignment, cells, inputs, out = argv
    try:
        child(assignment, cells, inputs, out)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    os._exit(main())
