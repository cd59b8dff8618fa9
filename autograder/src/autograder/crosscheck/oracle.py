"""The solution oracle: one long-lived process per grading slot that runs the instructor's solution.

A cross-check compares a submission with the solution on the same fresh inputs. Starting a
Python for the solution on every submission cost more than the solution itself: the interpreter,
numpy (TensorFlow, for chapter 5), the course's modules and the solution's cells. Measured on the
2-core CI machine (December 2026), CPU seconds per submission: chapter 1, 0.103 for a fresh
process, 0.003 asked of a running one; chapter 5, 4.07 and 0.49. :class:`SolutionOracle`
starts ``python -I -m autograder.crosscheck --serve ASSIGNMENT`` (:func:`.child.serve`) once,
and asks it for each submission's inputs in turn. It runs only the instructor's code, never a
student's, in a plain process outside the sandbox, as the per-submission process did.

The process is started again when the assignment or the solution's cells change, and after it
died or ran out of time (then the answer is missing, and :func:`.engine.checked_solution` says the
instructor notebook failed). The protocol (the cells as the first line, then a line of two paths
per request; the line ``done`` per answer) is :func:`.child.serve`'s, defined there and written and
read only here. A request's files live in a folder of its own, removed once its answer is read.
"""

import json
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from ..grader.processes import kill_group, spawn
from . import npz
from .child import SERVED


class SolutionOracle:
    """The solution's process for one grading slot, started on first use (see the module's docstring)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.key: tuple[str, str] | None = None  # (assignment, cells) it runs
        self.stderr: IO[bytes] | None = None
        self.cwd: tempfile.TemporaryDirectory | None = None  # its working folder (empty unless the solution writes)

    def __enter__(self) -> "SolutionOracle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, assignment: str, cells_json: str, env: dict[str, str]) -> None:
        self.stop()
        self.stderr = tempfile.TemporaryFile()
        self.cwd = tempfile.TemporaryDirectory(prefix="agr-xc-oracle-")
        self.proc = spawn([sys.executable, "-I", "-m", "autograder.crosscheck", "--serve", assignment],
                          cwd=self.cwd.name, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=self.stderr)
        self.key = (assignment, cells_json)
        self._send(cells_json)  # the first line: the cells, run once

    def _send(self, line: str) -> None:
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            pass  # it died: Answer.wait says so

    def ask(self, assignment: str, cells: list[str], inputs: npz.Arrays, env: dict[str, str]) -> "Answer":
        """Send the request for ``inputs``, written to a folder of this request's own (where no submission
        can change them; gone once the answer is read); the process is started first where needed.
        The answer is read with :meth:`Answer.wait`, so that the submission's child can run meanwhile."""
        cells_json = json.dumps(cells)
        if self.proc is None or self.proc.poll() is not None or self.key != (assignment, cells_json):
            self._start(assignment, cells_json, env)
        folder = tempfile.TemporaryDirectory(prefix="agr-xc-ref-")
        inputs_path, results_path = Path(folder.name) / "inputs.npz", Path(folder.name) / "results.npz"
        npz.save(inputs_path, inputs)
        self._send(json.dumps([str(inputs_path), str(results_path)]))
        return Answer(self, folder, results_path)

    def last_error(self) -> str:
        """The last line the process wrote to stderr (its traceback's), or ''."""
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def stop(self) -> None:
        """Stop the process (a no-op when none runs); its working folder goes with it."""
        proc, self.proc, self.key = self.proc, None, None
        if proc is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            kill_group(proc)
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None
        if self.cwd is not None:
            self.cwd.cleanup()
            self.cwd = None


class Answer:
    """A request sent to a :class:`SolutionOracle`, not yet read."""

    def __init__(self, oracle: SolutionOracle, folder: tempfile.TemporaryDirectory, results_path: Path) -> None:
        self.oracle, self.folder, self.results_path = oracle, folder, results_path

    def wait(self, deadline: float, seconds: int) -> tuple[npz.Results, list[str]]:
        """The solution's results and what went wrong (as ``engine.finish_child``): wait until
        ``deadline``, then stop the oracle (the next request starts it again)."""
        try:
            return self._wait(deadline, seconds)
        finally:
            self.folder.cleanup()

    def _wait(self, deadline: float, seconds: int) -> tuple[npz.Results, list[str]]:
        proc = self.oracle.proc
        ready, line = False, b""
        if proc is not None and proc.poll() is None:
            ready = bool(select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0])
            line = proc.stdout.readline() if ready else b""
        if line.strip() == SERVED.encode():
            try:
                return npz.Results(npz.load(self.results_path)), []
            except Exception as exc:  # noqa: BLE001 - unreadable: as if none came back
                detail = [f"no results ({type(exc).__name__})"]
        elif proc is not None and not ready and proc.poll() is None:
            detail = [f"it did not finish in {seconds} s"]
        else:
            if proc is not None:
                kill_group(proc)  # ended or ending: its stderr is complete once it is gone
            detail = [self.oracle.last_error() or "the solution's process ended"]
        self.oracle.stop()
        return npz.Results({}), detail
