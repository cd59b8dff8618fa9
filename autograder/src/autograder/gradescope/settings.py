"""What a Gradescope bundle is built with, and where Gradescope puts things.

The bundle carries its settings as ``gradescope.json`` next to ``setup.sh``; Gradescope extracts the
bundle into ``/autograder/source``, hands the student's files over in ``/autograder/submission`` and
reads ``/autograder/results/results.json``
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "File hierarchy").
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import GraderError

ROOT_VAR = "AUTOGRADER_GRADESCOPE_ROOT"  # Gradescope's /autograder, elsewhere (the tests lay one out)
DEFAULT_ROOT = "/autograder"
SETTINGS_NAME = "gradescope.json"
# Gradescope's visibility values ("Controlling Test Case Visibility" in the specification above).
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


@dataclass(frozen=True)
class BundleSettings:
    assignment: str  # folder name under solutions/
    cell_timeout: int  # seconds one cell may run
    memory_mb: int  # memory one submission may use while it is graded
    visibility: str  # of every test in results.json

    def __post_init__(self) -> None:
        if self.visibility not in VISIBILITIES:
            raise GraderError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {self.visibility!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def load(cls, source: Path) -> "BundleSettings":
        path = Path(source) / SETTINGS_NAME
        try:
            raw = json.loads(path.read_text())
            return cls(str(raw["assignment"]), int(raw["cell_timeout"]), int(raw["memory_mb"]), str(raw["visibility"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GraderError(f"{path} is missing or broken ({type(exc).__name__}: {exc}): rebuild the bundle with "
                              "`python -m autograder gradescope ASSIGNMENT`") from None


@dataclass(frozen=True)
class Layout:
    """Gradescope's folders under one root."""
    root: Path

    @classmethod
    def from_env(cls) -> "Layout":
        return cls(Path(os.environ.get(ROOT_VAR) or DEFAULT_ROOT))

    @property
    def source(self) -> Path:  # the bundle, extracted
        return self.root / "source"

    @property
    def submission(self) -> Path:  # the student's files
        return self.root / "submission"

    @property
    def results(self) -> Path:  # what Gradescope reads back
        return self.root / "results" / "results.json"

    @property
    def work(self) -> Path:  # this grader's own scratch space (a one-student folder, the grading run's out/)
        return self.root / "work"
