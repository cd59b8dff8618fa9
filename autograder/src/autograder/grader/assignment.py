"""The assignment as the instructor wrote it (``solutions/A/*.ipynb``), and its student copies."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .. import course_root
from ..errors import GraderError
from .processes import run_tool


# What a test cell's first comment says it is ("# Visible checks: ...", "# Hidden test: ...").
KINDS = ((re.compile(r"#\s*visible checks?\b", re.IGNORECASE), "visible checks"),
         (re.compile(r"#\s*hidden tests?\b", re.IGNORECASE), "hidden test"))


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    notebook: str  # its notebook's name, without .ipynb
    points: float
    kind: str = ""  # "visible checks", "hidden test", or "" where its first comment does not say

    @property
    def title(self) -> str:
        """How a student reads its name: the grade id without ``test_``, and its kind."""
        name = self.grade_id.removeprefix("test_") or self.grade_id
        return f"{name} ({self.kind})" if self.kind else name


def cell_kind(source: str) -> str:
    """The kind a test cell's first line names (see ``KINDS``), or ""."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return next((kind for pattern, kind in KINDS if pattern.match(first)), "")


@dataclass(frozen=True)
class Assignment:
    name: str
    source: Path  # solutions/NAME
    notebooks: list[str]  # names without .ipynb
    tests: list[TestCell]  # in notebook order
    known_ids: dict[str, set[str]]  # notebook -> the grade ids of every nbgrader cell in it
    n_cells: int  # cells of every notebook together, of any kind (the wall-clock limit counts them)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def checkout(root: Path | str | None = None) -> Path:
    """``root``, or the course checkout this package was installed from."""
    found = Path(root) if root else course_root()
    if found is None:
        raise GraderError("cannot find the course checkout (a folder with _config.yml and solutions/): run from a "
                          "checkout where the package is installed in editable mode (pip install -e autograder)")
    return found


def load_assignment(name: str, root: Path | str | None = None) -> Assignment:
    """Read ``solutions/NAME``: its notebooks, their test cells and points (each notebook parsed once)."""
    root = checkout(root)
    source = root / "solutions" / name
    if not source.is_dir():
        available = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
        raise GraderError(f"no assignment {name!r} in {root / 'solutions'}; available: {', '.join(available)}")
    notebooks, tests, known, cells = [], [], {}, 0
    for path in sorted(source.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        notebooks.append(path.stem)
        known[path.stem] = set()
        cells += len(nb.cells)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if "grade_id" in meta:
                known[path.stem].add(meta["grade_id"])
            if meta.get("grade"):
                tests.append(TestCell(meta["grade_id"], path.stem, float(meta.get("points", 0)),
                                      cell_kind(cell.source)))
    if not notebooks:
        raise GraderError(f"assignment {name!r} has no notebook in {source}")
    return Assignment(name, source, notebooks, tests, known, cells)


def assignment_names(root: Path | str | None = None) -> list[str]:
    """The folders of ``solutions/`` that hold a notebook, sorted."""
    root = checkout(root)
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def release(assignments: list[str] | None = None, root: Path | str | None = None,
            log: Callable[[str], object] = print) -> list[str]:
    """Regenerate ``exercises/A`` from ``solutions/A`` for each assignment (all by default)."""
    root = checkout(root)
    names = assignments or assignment_names(root)
    for name in names:
        load_assignment(name, root)  # a clear error for an unknown name
        rc, out = run_tool(["generate_assignment", name, "--force", "--no-db"], cwd=root)
        if rc != 0:
            raise GraderError(f"nbgrader generate_assignment {name} failed:\n{out[-3000:]}")
        for path in sorted((root / "exercises" / name).rglob("*.ipynb")):
            text = path.read_text()
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
                if marker in text:
                    raise GraderError(f"{path} still contains {marker!r}: check the nbgrader markers")
        log(f"released {name} -> {root / 'exercises' / name}")
    return names
