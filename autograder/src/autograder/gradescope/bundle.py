"""``python -m autograder gradescope ASSIGNMENT``: the Gradescope autograder bundle, ``autograder.zip``.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
wants a zip with ``setup.sh`` (run once, as root, when Gradescope builds the image) and
``run_autograder`` (run for every submission) at its top level; the whole zip is extracted into
``/autograder/source``. Next to them the bundle carries a small course checkout, so that the
package finds its course (:func:`autograder.course_root`: ``_config.yml`` and ``solutions/``):

- ``autograder/pyproject.toml`` and ``autograder/src/``: the package (never ``autograder/grading/``,
  the instructor's grading state);
- ``solutions/ASSIGNMENT/``: the instructor notebook, hidden tests included (Gradescope's side only:
  students never see the bundle);
- ``nbgrader_config.py`` and ``_config.yml`` of the course;
- ``requirements.txt``: the course's grading requirements and everything they pull in, each pinned
  to the version installed here (the versions the course's tests pass with);
- ``gradescope.json``: the settings (:class:`.settings.BundleSettings`).
"""

import importlib.metadata
import os
import platform
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import GraderError
from ..grader.assignment import checkout, load_assignment
from ..grader.nbconfig import CELL_TIMEOUT
from .settings import SETTINGS_NAME, BundleSettings

BUNDLE_NAME = "autograder.zip"
GRADESCOPE_PLATFORM = ("linux", "x86_64", (3, 11))  # what setup.sh installs on Gradescope's Ubuntu image
# Lines of the course's requirements.txt a Gradescope run does not need: the book, the test suite and
# the PostgreSQL gradebook (a Gradescope run grades one submission with a private SQLite gradebook),
# unless the package itself depends on one (autograder/pyproject.toml wins).
NOT_FOR_GRADING = frozenset({"jupyter-book", "sphinx", "myst-nb", "jupyter-cache", "django-static-mathjax", "pytest",
                             "playwright", "greenlet", "psycopg", "psycopg-binary"})
SKIP_PARTS = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache"})
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every member's date: the same course gives the same bytes
DATA_MARKERS = ("autograder.data", "from autograder import data")  # an assignment that loads MNIST

SETUP_SH = """#!/usr/bin/env bash
# Written by `python -m autograder gradescope {assignment}`. Gradescope runs this once, as root, when it
# builds the autograder image (base image: Ubuntu 22.04): Python 3.11, the pinned requirements and the
# course's package go into /autograder/venv, which run_autograder grades with.
set -euo pipefail
SOURCE=/autograder/source
VENV=/autograder/venv
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Python 3.11 from the deadsnakes archive, a current 3.11.x on every Ubuntu release: 22.04's own
# python3.11 is a release candidate, and 24.04 has none. (An early 3.11 breaks the pinned soupsieve
# on nbconvert's selectors, so feedback pages fail: seen with Debian's 3.11.2.)
apt-get install -y software-properties-common
add-apt-repository -y ppa:deadsnakes/ppa
apt-get update
apt-get install -y python3.11 python3.11-venv
python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir {pip}
"$VENV/bin/python" -m pip install --no-cache-dir -r "$SOURCE/requirements.txt"
"$VENV/bin/python" -m pip install --no-cache-dir --no-deps -e "$SOURCE/autograder"
{uninstall}# The venv's own "python3" kernel, as the course's Makefile installs it.
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (RNN course)"
{data}# Fail the build, not every submission, if the package cannot find its course.
"$VENV/bin/python" -c "from autograder import course_root; r = course_root(); assert r is not None, 'no course'; print('course at', r)"
"""

UNINSTALL_STEP = """# Not installed where the bundle was built (optional extras pip adds; the course's Makefile removes them).
"$VENV/bin/python" -m pip uninstall --yes {names}
"""

DATA_STEP = """# This assignment loads MNIST: fetch it once into $SOURCE/data (checksums verified).
"$VENV/bin/python" -m autograder data
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Written by `python -m autograder gradescope {assignment}`. Gradescope runs this for every submission, as
# root, in /autograder: it grades the notebooks in /autograder/submission and writes
# /autograder/results/results.json.
#   AUTOGRADER_GRADESCOPE_ROOT  the /autograder folder (default /autograder; the course's tests lay one out)
#   AUTOGRADER_PYTHON           the Python to grade with (default: the venv setup.sh made, ROOT/venv/bin/python);
#                               it needs requirements.txt and this bundle's package (pip install -e source/autograder)
ROOT="${{AUTOGRADER_GRADESCOPE_ROOT:-/autograder}}"
PY="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
export AUTOGRADER_GRADESCOPE_ROOT="$ROOT"
cd "$ROOT" || exit 1
"$PY" -m autograder.gradescope.run
rc=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    # The grader could not even start: the student is told, the log above says why.
    mkdir -p "$ROOT/results"
    printf '{{"score": 0.0, "output": "The autograder failed before it could grade this submission (exit status %s). Your instructor can see why in the autograder log.", "tests": []}}\\n' "$rc" > "$ROOT/results/results.json"
fi
exit "$rc"
"""


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return name.lower().replace("_", "-").replace(".", "-")


def package_requirements(root: Path) -> set[str]:
    """The names the course's package itself depends on (``autograder/pyproject.toml``, markers for here)."""
    import tomllib

    from packaging.requirements import Requirement

    path = root / "autograder" / "pyproject.toml"
    try:
        deps = tomllib.loads(path.read_text())["project"]["dependencies"]
    except (OSError, ValueError, KeyError) as exc:
        raise GraderError(f"cannot read the dependencies in {path}: {type(exc).__name__}: {exc}") from None
    reqs = [Requirement(text) for text in deps]
    return {canonical(r.name) for r in reqs if r.marker is None or r.marker.evaluate()}


def grading_requirements(root: Path) -> list[tuple[str, str]]:
    """(name, pinned version) of what grading needs: each line of the course's ``requirements.txt`` but the
    book's and the tests' (NOT_FOR_GRADING), and whatever the package declares (``""``: not pinned there)."""
    from packaging.requirements import InvalidRequirement, Requirement

    requirements = root / "requirements.txt"
    needed = package_requirements(root)
    kept: dict[str, tuple[str, str]] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-e "):  # the course's own package travels as source
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise GraderError(f"{requirements}: cannot read {line!r}: {exc}") from None
        if canonical(req.name) in NOT_FOR_GRADING and canonical(req.name) not in needed:
            continue
        pins = [s.version for s in req.specifier if s.operator == "=="]
        if len(pins) != 1 or len(req.specifier) != 1:
            raise GraderError(f"{requirements}: {line!r} is not pinned (name==version): the bundle pins everything")
        kept[canonical(req.name)] = (req.name, pins[0])
    for name in sorted(needed - set(kept)):
        kept[name] = (name, "")
    return list(kept.values())


def pinned_closure(top: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(``name==version`` of ``top`` and of everything they require here (markers evaluated for this
    Python and platform), each at its installed version; the names required only through an extra and
    not installed here, left to pip). A clear error where the installed version is not the pinned one, or
    a plain requirement is not installed."""
    from packaging.requirements import Requirement

    versions: dict[str, str] = {}
    for name, pin in top:
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise GraderError(f"{name} (requirements.txt, autograder/pyproject.toml) is not installed here: install "
                              "the course's requirements (make book) before building the bundle") from None
        if pin and have != pin:
            raise GraderError(f"requirements.txt pins {name}=={pin}, but {have} is installed here: reinstall "
                              "(make book), so that the bundle grades with what the tests passed with")
    # (name, extras asked for, whether only an extra asked for it)
    todo: list[tuple[str, frozenset[str], bool]] = [(name, frozenset(), False) for name, _ in top]
    visited: set[tuple[str, frozenset[str]]] = set()
    left: set[str] = set()
    while todo:
        name, extras, via_extra = todo.pop()
        if (canonical(name), extras) in visited:
            continue
        visited.add((canonical(name), extras))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if via_extra:  # pip check does not look at extras: pip install will resolve it
                left.add(canonical(name))
                continue
            raise GraderError(f"{name} is required by the grading requirements but not installed here: "
                              "`pip check` in the venv says what is broken") from None
        versions[canonical(dist.metadata["Name"])] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                if not any(req.marker.evaluate({"extra": e}) for e in extras):
                    continue
                todo.append((req.name, frozenset(req.extras), True))
            else:
                todo.append((req.name, frozenset(req.extras), via_extra))
    return [f"{name}=={version}" for name, version in sorted(versions.items())], sorted(left - set(versions))


def requirements_text(root: Path, assignment: str) -> tuple[str, list[str]]:
    """(``requirements.txt``, the names pip adds through extras that were not installed here)."""
    pins, left = pinned_closure(grading_requirements(root))
    note = f"# Required through extras, not installed there (setup.sh removes them): {', '.join(left)}\n" if left else ""
    return (f"# Written by `python -m autograder gradescope {assignment}`: the course's grading requirements and\n"
            "# what they pull in, at the versions installed where the bundle was built (Python 3.11, Linux x86_64).\n"
            + note + "\n".join(pins) + "\n"), left


def _tree(root: Path, top: Path) -> Iterator[Path]:
    """The files under ``top``, sorted, without caches and checkpoints; links refused."""
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(root)
        if SKIP_PARTS & set(rel.parts) or path.suffix == ".pyc" or path.name.endswith(".egg-info") \
                or any(p.endswith(".egg-info") for p in rel.parts):
            continue
        if path.is_symlink():
            raise GraderError(f"{path} is a symbolic link: the bundle carries plain files only")
        if path.is_file():
            yield path


def course_files(root: Path, assignment: str) -> list[Path]:
    """The course's files the bundle carries (relative to ``root``)."""
    wanted = [root / "_config.yml", root / "nbgrader_config.py", root / "autograder" / "pyproject.toml"]
    missing = [str(p) for p in wanted if not p.is_file()]
    if missing:
        raise GraderError(f"the course checkout lacks {', '.join(missing)}")
    files = wanted + list(_tree(root, root / "autograder" / "src")) + list(_tree(root, root / "solutions" / assignment))
    rels = [p.relative_to(root) for p in files]
    assert not any(r.parts[:2] == ("autograder", "grading") for r in rels), "grading state in the bundle"
    return rels


def needs_data(root: Path, assignment: str) -> bool:
    """Whether the assignment's notebooks load MNIST (then setup.sh fetches it)."""
    return any(marker in path.read_text(errors="replace") for path in (root / "solutions" / assignment).glob("*.ipynb")
               for marker in DATA_MARKERS)


def _member(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, data)


def build_bundle(assignment: str, out: Path | None = None, *, root: Path | None = None,
                 cell_timeout: int = CELL_TIMEOUT, memory_mb: int = 4096, visibility: str = "visible",
                 log=print) -> Path:
    """Write ``out/autograder.zip`` (default ``autograder/grading/ASSIGNMENT/``) and return its path."""
    root = checkout(root)
    a = load_assignment(assignment, root)  # a clear error for an unknown assignment
    here = (sys.platform, platform.machine(), sys.version_info[:2])
    if here != GRADESCOPE_PLATFORM:
        raise GraderError(f"build the bundle on Linux x86_64 with Python 3.11, what it runs on at Gradescope (here: "
                          f"{here[0]} {here[1]}, Python {here[2][0]}.{here[2][1]}): requirements.txt pins what is "
                          "installed here")
    if int(cell_timeout) < 1 or int(memory_mb) < 1:
        raise GraderError("the cell timeout and the memory must be at least 1")
    settings = BundleSettings(a.name, int(cell_timeout), int(memory_mb), visibility)
    out = Path(out) if out is not None else root / "autograder" / "grading" / a.name
    out.mkdir(parents=True, exist_ok=True)
    target = out / BUNDLE_NAME
    pip = f"pip=={importlib.metadata.version('pip')}"
    requirements, left = requirements_text(root, a.name)
    setup = SETUP_SH.format(assignment=a.name, pip=pip, data=DATA_STEP if needs_data(root, a.name) else "",
                            uninstall=UNINSTALL_STEP.format(names=" ".join(left)) if left else "")
    files = course_files(root, a.name)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _member(zf, "setup.sh", setup.encode(), executable=True)
        _member(zf, "run_autograder", RUN_AUTOGRADER.format(assignment=a.name).encode(), executable=True)
        _member(zf, "requirements.txt", requirements.encode())
        _member(zf, SETTINGS_NAME, settings.to_json().encode())
        for rel in files:
            _member(zf, rel.as_posix(), (root / rel).read_bytes())
    os.replace(tmp, target)
    log(f"wrote {target} ({target.stat().st_size // 1024} KiB, {len(files) + 4} files): {a.name}, {len(a.tests)} test "
        f"cells, {a.max_score:g} points, cell timeout {settings.cell_timeout} s, {settings.memory_mb} MB, test "
        f"visibility {settings.visibility}. Upload it under Configure Autograder (base image Ubuntu 22.04).")
    return target
