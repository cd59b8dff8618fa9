"""Gradescope: ``python -m autograder gradescope ASSIGNMENT`` builds an autograder bundle that grades
one submission on Gradescope with the same grader as ``python -m autograder grade``.

- :mod:`.settings`: what a bundle is built with (``gradescope.json`` inside it) and Gradescope's
  ``/autograder`` layout (its root configurable, ``$AUTOGRADER_GRADESCOPE_ROOT``);
- :mod:`.bundle`: ``autograder.zip``: ``setup.sh``, ``run_autograder``, the course files grading
  needs and a pinned ``requirements.txt``;
- :mod:`.run`: what ``run_autograder`` runs (``python -m autograder.gradescope.run``): the
  submission's notebooks in a one-student folder, ``grade()``, ``results.json``;
- :mod:`.results`: a :class:`~autograder.grader.results.Result` as Gradescope's ``results.json``,
  hidden-test source kept out.

Gradescope's format: https://gradescope-autograders.readthedocs.io/en/latest/specs/
"""

import importlib

_LAZY = {"build_bundle": "bundle"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
