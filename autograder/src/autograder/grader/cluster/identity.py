"""What a worker grades with, and the comparison that refuses a worker that differs from the coordinator.

A worker with another version of the course package, of nbgrader, NumPy or TensorFlow, or another
Python, could grade differently. The coordinator asks every worker for its :class:`Identity`
(:func:`worker_identity`) and stops with :func:`mismatch`'s message, which names the worker and
each thing that differs. The grading fingerprint (:mod:`..fingerprint`) that the worker's prepared
template must share with the coordinator's is the backstop for anything not listed here.
"""

import hashlib
import importlib.metadata
import platform
from dataclasses import dataclass

from ..fingerprint import PACKAGE, installed_distributions

PINNED = ("nbgrader", "numpy", "tensorflow", "keras", "nbclient", "nbconvert", "ipykernel", "distributed")
MAX_LISTED = 6  # other distributions named in a message


@dataclass(frozen=True)
class Identity:
    """A machine's grading code and versions."""
    python: str
    package: str  # SHA-256 of every *.py of the autograder package (names and bytes)
    versions: dict[str, str]  # PINNED name -> version ("absent" where not installed)
    distributions: tuple[str, ...]  # every installed name==version, sorted


def package_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" not in path.parts:
            h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def worker_identity() -> Identity:
    """This process's identity (on a worker: what it grades with)."""
    return Identity(platform.python_version(), package_hash(), {name: version(name) for name in PINNED},
                    tuple(installed_distributions()))


def differences(here: Identity, there: Identity) -> list[str]:
    """What differs, in words (``there``'s value first, then the coordinator's); [] where nothing does."""
    diffs = []
    if there.python != here.python:
        diffs.append(f"Python {there.python} (here {here.python})")
    if there.package != here.package:
        diffs.append(f"the autograder package's code (hash {there.package[:12]}, here {here.package[:12]})")
    for name in PINNED:
        theirs, ours = there.versions.get(name, "absent"), here.versions.get(name, "absent")
        if theirs != ours:
            diffs.append(f"{name} {theirs} (here {ours})")
    pinned = {name.replace("_", "-") for name in PINNED}
    others = sorted((set(there.distributions) ^ set(here.distributions)))
    others = [d for d in others if d.partition("==")[0] not in pinned]
    if others:
        ours = set(here.distributions)
        listed = [f"{d} ({'here' if d in ours else 'there'} only)" for d in others[:MAX_LISTED]]
        diffs.append("installed distributions: " + ", ".join(listed) + (", ..." if len(others) > MAX_LISTED else ""))
    return diffs


def mismatch(worker: str, here: Identity, there: Identity) -> str | None:
    """The message refusing ``worker`` (its address) where its identity differs from ``here``; else None."""
    diffs = differences(here, there)
    if not diffs:
        return None
    return (f"worker {worker} does not grade with what this grader has: {'; '.join(diffs)}. Install the same "
            "autograder package and pinned requirements on every worker (pip install -r requirements.txt and "
            "pip install autograder/ from the same commit), or stop that worker")
