"""Shared code of the RNN course.

Everything here is course infrastructure that is not an answer to an exercise:
seeding, numerical checks, the checking harness that test cells call, MNIST loading,
plotting helpers and the instructor command line (``python -m autograder``, :mod:`.grader`).
Solutions live only in the instructor notebooks under ``solutions/``.
"""

from pathlib import Path

__all__ = ["course_root"]


def course_root() -> Path | None:
    """The course checkout this package was installed from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_config.yml").is_file() and (parent / "solutions").is_dir():
            return parent
    return None
