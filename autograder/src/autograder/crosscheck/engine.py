"""Running a cross-check: fresh inputs, the sandboxed child and the solution process, the comparison.

The submission's code cells (not its test cells, and not the cells the grader had to skip) run in
the sandbox; the instructor's solution cells run at the same time on their own copy of the same
inputs, in a plain process that never sees student code (a process, so that the grader never
imports what a solution imports: TensorFlow, for chapter 5; a long-lived one per grading slot,
:mod:`.oracle`, so that it starts once, not once per submission). Both are ``python -I -m
autograder.crosscheck`` (:mod:`.child`); the grader, which never ran student code, compares.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from .. import sandbox
from ..grader.processes import kill_group, spawn, with_one_blas_thread
from . import npz, spec
from .compare import compare
from .oracle import SolutionOracle

if TYPE_CHECKING:
    from nbformat import NotebookNode


def seed_for(digest: str, nonce: str) -> int:
    """Inputs of a submission's own: from its hash and a nonce drawn once per grading run."""
    return int.from_bytes(hashlib.sha256(f"{digest}:{nonce}".encode()).digest()[:8], "little")


def make_inputs(assignment: str, seed: int) -> npz.Arrays:
    """Arguments for every call of every check of ``assignment``, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    calls = spec.SUITES[assignment].calls_per_check
    return npz.pack_inputs({(index, call): check.make_args(rng) for index, check in enumerate(spec.checks(assignment))
                            for call in range(calls)})


def submission_cells(nb: "NotebookNode", skip: Collection[int] = ()) -> list[str]:
    """Source of the submission's code cells to run: every code cell but test cells (and ``skip`` indices)."""
    return [cell.source for index, cell in enumerate(nb.cells) if cell.cell_type == "code" and index not in skip
            and not cell.metadata.get("nbgrader", {}).get("grade")]


def solution_cells(nb: "NotebookNode") -> list[str]:
    """The instructor notebook's setup and solution cells (not its tests)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
            and not c.metadata["nbgrader"].get("grade")]


def child_env() -> dict[str, str]:
    """The environment of both children: as nbgrader's (``NBGRADER_EXECUTION``), with fixed hashing and
    one BLAS thread, as the kernels have."""
    return with_one_blas_thread(dict(os.environ, NBGRADER_EXECUTION="autograde", PYTHONHASHSEED="0"))


@dataclass
class RunningChild:
    """A :mod:`.child` process started on a folder of its own: the process, its stderr, where its
    results will be."""

    process: subprocess.Popen
    stderr: IO[bytes]
    results_path: Path


def start_child(assignment: str, cells: list[str], inputs: npz.Arrays, folder: Path, cwd: str,
                settings: sandbox.Settings | None = None) -> RunningChild:
    """Start :mod:`.child` on ``cells`` and ``inputs``, written to ``folder``: in the sandbox of ``settings``
    (which may then write ``folder``), or, with None, as a plain process."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs_path, cells_path = folder / "inputs.npz", folder / "cells.json"
    npz.save(inputs_path, inputs)
    cells_path.write_text(json.dumps(cells))
    for path in (inputs_path, cells_path):
        os.chmod(path, 0o644)
    results_path = folder / "results.npz"
    cmd = [sys.executable, "-I", "-m", "autograder.crosscheck", assignment, str(cells_path), str(inputs_path),
           str(results_path)]
    env = child_env()
    if settings is not None:
        sandbox.hand_over(folder, settings.uid)
        settings = dataclasses.replace(settings, writable=[*settings.writable, str(folder)])
        env[sandbox.ENV_VAR] = settings.to_env()
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox", "run", "--", *cmd]
    stderr = tempfile.TemporaryFile()
    process = spawn(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    return RunningChild(process, stderr, results_path)


def finish_child(child: RunningChild, deadline: float, seconds: int) -> tuple[npz.Results, list[str]]:
    """Wait for a started child until ``deadline`` (then kill its process group); return (its
    results, empty if there are none; what went wrong, as a list of at most one line)."""
    try:
        rc = child.process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        kill_group(child.process)  # whatever it left running
    with child.stderr as stderr:
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").strip().splitlines()
    detail = [f"it did not finish in {seconds} s"] if rc is None else (lines[-1:] if rc else [])
    try:
        return npz.Results(npz.load(child.results_path)), detail
    except Exception as exc:  # noqa: BLE001 - no results: every check fails
        return npz.Results({}), detail or [f"no results ({type(exc).__name__})"]


def checked_solution(assignment: str, solution: npz.Results, detail: list[str]) -> npz.Results:
    """The solution's results; RuntimeError if a cell of the instructor notebook failed or nothing came back."""
    errors = solution.cell_errors()
    if errors or not solution:
        raise RuntimeError(f"the instructor notebook of {assignment} failed in the cross-check: {(errors or detail)[:3]}")
    return solution


def could_not_run(assignment: str, detail: list[str]) -> npz.Results:
    """Results where the child left none: every call failed, saying why."""
    message = "the cross-check could not run the submission's code: " + "; ".join(detail)
    calls = spec.SUITES[assignment].calls_per_check
    errors = {(index, call): message for index in range(len(spec.checks(assignment))) for call in range(calls)}
    return npz.Results(npz.pack_results({}, errors, []))


def run(assignment: str, submitted_nb: "NotebookNode", solution_nb: "NotebookNode", scores: dict[str, float],
        points: dict[str, float], seed: int, workdir: Path | str, *, skip: Collection[int] = (),
        sandbox_settings: sandbox.Settings | None = None,
        oracle: SolutionOracle | None = None) -> tuple[list[str], list[str]]:
    """Cross-check one submission; return (flag reasons, report lines), also written to ``workdir/report.txt``.

    The submission's cells run in ``workdir`` (in the sandbox of ``sandbox_settings``; None: a plain
    subprocess, for grading without the sandbox) while the solution runs, at the same time, on its
    own copy of the inputs in ``oracle`` (the grading slot's :class:`.oracle.SolutionOracle`; None:
    one for this call only). RuntimeError: the solution itself failed.
    """
    suite = spec.SUITES[assignment]
    workdir = Path(workdir)
    inputs = make_inputs(assignment, seed)
    deadline = time.monotonic() + suite.child_seconds
    with contextlib.ExitStack() as stack:
        if oracle is None:
            oracle = stack.enter_context(SolutionOracle())
        cwd = stack.enter_context(tempfile.TemporaryDirectory(prefix="agr-xc-"))
        answer = oracle.ask(assignment, solution_cells(solution_nb), inputs, child_env())
        submission_child = start_child(assignment, submission_cells(submitted_nb, skip), inputs, workdir, cwd,
                                       sandbox_settings)
        submitted, detail = finish_child(submission_child, deadline, suite.child_seconds)
        solution = checked_solution(assignment, *answer.wait(deadline + suite.child_seconds, suite.child_seconds))
    if not submitted:
        submitted = could_not_run(assignment, detail)
    reasons, lines = compare(spec.checks(assignment), suite.calls_per_check, submitted, solution, scores, points)
    report = [f"cross-check of {assignment}, inputs drawn with seed {seed}", *lines,
              *(f"(a cell failed outside the grading kernel: {e})" for e in submitted.cell_errors())]
    (workdir / "report.txt").write_text("\n".join(report + [f"FLAGGED: {r}" for r in reasons]) + "\n")
    return reasons, report
