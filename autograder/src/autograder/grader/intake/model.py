"""The records of intake: what a download held (:class:`Tree`), who a layout found in it
(:class:`Found`, with their :class:`Attempt`), and what intake hands the grader (:class:`Intake`).

Layout modules turn a :class:`Tree` into :class:`Found` students and :class:`Skipped` files;
:mod:`.stage` turns those into :class:`~autograder.grader.submissions.Student` records.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..submissions import Student


@dataclass(frozen=True)
class Skipped:
    """A file or folder of the input that is not graded, and why (for the log and ``summary.md``)."""
    path: str  # relative to the input, "/"-separated
    why: str


@dataclass(frozen=True)
class Intake:
    """What :func:`~autograder.grader.intake.discover` found: the layout it recognised, the students
    (sorted by id) and what it left out."""
    layout: str  # a key of LAYOUTS (detect.py): "folders", "nbgrader", "canvas", "moodle", "blackboard", "gradescope"
    students: list[Student]
    skipped: list[Skipped]

    @property
    def description(self) -> str:
        from .detect import LAYOUTS

        return LAYOUTS[self.layout]


@dataclass(frozen=True)
class Tree:
    """Every entry of the input, as "/"-separated paths relative to its top (junk already left out).

    ``files`` lists every regular file seen, but only those :func:`.unzip.wanted` accepts can be read
    under ``root``: from a zip nothing else is extracted. ``refused`` are entries never read, with
    why: symbolic links (never followed), fifos and devices, folders that cannot be listed.
    ``base`` is where this tree sits in the input (a wrapping folder looked through), for messages.
    """
    root: Path
    files: tuple[str, ...]
    dirs: tuple[str, ...]
    refused: tuple[tuple[str, str], ...] = ()
    base: str = ""

    def top_files(self) -> list[str]:
        return [p for p in self.files if "/" not in p]

    def top_dirs(self) -> list[str]:
        return [p for p in self.dirs if "/" not in p]

    def top_refused(self) -> list[tuple[str, str]]:
        return [(p, why) for p, why in self.refused if "/" not in p]

    def shown(self, path: str) -> str:
        """``path`` as the input names it (this tree may be inside a wrapping folder)."""
        return f"{self.base}{path}"

    def under(self, folder: str) -> "Tree":
        """The part of this tree inside ``folder``, with paths relative to it."""
        first, _, rest = folder.strip("/").partition("/")
        files, dirs, refused = self._by_top.get(first, ((), (), ()))
        inner = Tree(self.root / first, files, dirs, refused, f"{self.base}{first}/")
        return inner.under(rest) if rest else inner

    @cached_property
    def _by_top(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]]:
        """Every entry below a top folder, grouped by that folder (one pass: a tree of many folders
        costs no more than one of a few)."""
        groups: dict[str, tuple[list[str], list[str], list[tuple[str, str]]]] = {}
        for kind, entries in ((0, self.files), (1, self.dirs)):
            for p in entries:
                top, sep, below = p.partition("/")
                if sep:
                    groups.setdefault(top, ([], [], []))[kind].append(below)
        for p, why in self.refused:
            top, sep, below = p.partition("/")
            if sep:
                groups.setdefault(top, ([], [], []))[2].append((below, why))
        return {top: (tuple(f), tuple(d), tuple(r)) for top, (f, d, r) in groups.items()}


@dataclass
class Attempt:
    """One submission by one student: when (sortable text, "" when the platform does not say), a
    tag that tells apart attempts made at one time (a submission's folder), and its files, as
    (path in the tree, the name it is graded as, relative to the student)."""
    when: str = ""
    tag: str = ""
    files: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about this attempt only (a renamed file, a link)

    @property
    def shown(self) -> str:
        return self.when or self.tag


@dataclass
class Found:
    """A student as a layout found them, before their newest attempt is chosen and staged."""
    key: str  # the base of their id: unique within the layout where it can be (a platform's own handle)
    label: str  # a human name where the platform gives one, else what the input called them
    platform_id: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for their row (a link not followed, ...)

    def attempt(self, when: str = "", tag: str = "") -> Attempt:
        """The attempt made at ``when`` with ``tag`` (created on first use)."""
        for a in self.attempts:
            if (a.when, a.tag) == (when, tag):
                return a
        self.attempts.append(Attempt(when, tag))
        return self.attempts[-1]


def is_notebook(path: str) -> bool:
    return path.lower().endswith(".ipynb")
