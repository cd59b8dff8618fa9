"""The fingerprint of a grading setup: everything that can change a grade, hashed.

``grade`` keeps each student's result with this fingerprint and the submission's hash, and
re-uses it only while both match. So it must change whenever anything that can change a grade
changes:

- the assignment as the instructor wrote it (every file of ``solutions/<assignment>/``);
- the grading settings (cell timeout, gradebook kind);
- every module of this package (the harness the tests call, the guards, the oracle, the grader,
  the sandbox, the cross-check), not a list of names that a new module would slip past;
- the course's ``nbgrader_config.py``;
- the Python version and every installed distribution with its version (nbgrader, numpy,
  TensorFlow, Keras, ipykernel, ...), as ``importlib.metadata`` sees them.
"""

import hashlib
import importlib.metadata
import platform
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the whole autograder package


def installed_distributions() -> list[str]:
    """``name==version`` of every installed distribution, sorted (names normalised)."""
    seen = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").strip().lower().replace("_", "-")
        if name:
            seen.add(f"{name}=={dist.version}")
    return sorted(seen)


def _hash_tree(h: "hashlib._Hash", root: Path, pattern: str) -> None:
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")


def fingerprint(source: Path, settings: str, *, package: Path = PACKAGE, course_config: Path | None = None,
                distributions: list[str] | None = None) -> str:
    """The hex SHA-256 of everything above; ``settings`` is a string of the run's grading settings."""
    h = hashlib.sha256()
    h.update(b"assignment\0")
    _hash_tree(h, Path(source), "*")
    h.update(b"settings\0" + settings.encode() + b"\0")
    h.update(b"package\0")
    _hash_tree(h, Path(package), "*.py")
    if course_config is not None and Path(course_config).is_file():
        h.update(b"nbgrader_config\0" + Path(course_config).read_bytes() + b"\0")
    h.update(b"python\0" + platform.python_version().encode() + b"\0")
    for line in installed_distributions() if distributions is None else distributions:
        h.update(line.encode() + b"\n")
    return h.hexdigest()
