"""Shared code of the RNN course.

Everything here is course infrastructure that is not an answer to an exercise:
seeding, numerical checks, the checking harness that test cells call, MNIST loading,
plotting helpers and the instructor command line (``python -m autograder``, :mod:`.grader`).
Solutions live only in the instructor notebooks under ``solutions/``.
"""

import importlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["course_root", "lazy_attributes"]


def lazy_attributes(package: str, table: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``table[name]`` (a submodule) on first use of
    ``name``: what a process started per submission does not use, it does not import."""

    def __getattr__(name: str) -> object:
        if name in table:
            return getattr(importlib.import_module(f".{table[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def course_root() -> Path | None:
    """The course checkout this package was installed from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_config.yml").is_file() and (parent / "solutions").is_dir():
            return parent
    return None
