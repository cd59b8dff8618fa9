"""Shared fixtures of the course's test suite (run by `make test`)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_cli(*args, timeout=1800):
    """Run ``python -m autograder ARGS`` as an instructor would, from the course root."""
    from autograder.grader.processes import tool_env

    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def built_book():
    html = ROOT / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail("the book is not built: run `make book` (or `make test`, which builds it first)")
    return html
