"""The progress file: which cells the worker's kernel started and which timed out, written and read here only.

:class:`~.preprocessors.BoundedExecute`, inside the nbgrader worker, appends a line before each
code cell it runs (``start NOTEBOOK:INDEX<TAB>label``) and one when a cell runs past its timeout
(``timeout NOTEBOOK:INDEX``). When the kernel dies or the worker is stopped, the grader reads the
file (:func:`read`) to name the cell to blame (:meth:`Progress.culprit`).
This module must import nothing heavy: it runs in the worker, next to nbgrader.
"""

from dataclasses import dataclass, field
from pathlib import Path

START, TIMEOUT = "start", "timeout"


def record_start(path: str | Path, key: str, label: str) -> None:
    """Note that the cell ``key`` (NOTEBOOK:INDEX), described as ``label``, is about to run."""
    with open(path, "a") as f:
        f.write(f"{START} {key}\t{label}\n")


def record_timeout(path: str | Path, key: str) -> None:
    """Note that the cell ``key`` ran past its timeout (the kernel is interrupted next)."""
    with open(path, "a") as f:
        f.write(f"{TIMEOUT} {key}\n")


@dataclass
class Progress:
    started: list[str] = field(default_factory=list)  # code cells started, in order (NOTEBOOK:INDEX)
    timed_out: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)  # key -> how the student's row names the cell

    def label(self, key: str) -> str:
        return self.labels.get(key, key)

    def culprit(self) -> str | None:
        """The cell to blame for a dead or hung kernel: the last code cell started, unless the cells
        before it timed out, in which case the first of that run of timeouts (nbclient moves on after
        an interrupt that did nothing, so a hung kernel sees later cells time out too, and the one
        it dies in, or was killed in, is just the last of them)."""
        started = self.started
        if not started:
            return None
        chain = started[:-1] if started[-1] not in self.timed_out and len(started) > 1 else started
        culprit = started[-1]
        for key in reversed(chain):
            if key not in self.timed_out:
                break
            culprit = key
        return culprit


def read(path: Path) -> Progress:
    """What a progress file says (an empty Progress where there is none)."""
    progress = Progress()
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        kind, _, rest = line.partition(" ")
        key, _, label = rest.partition("\t")
        if kind == START:
            progress.started.append(key)
            progress.labels[key] = label or key
        elif kind == TIMEOUT:
            progress.timed_out.add(key)
    return progress
