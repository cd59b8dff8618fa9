"""The output folder of a grading run: its lock, the prepared nbgrader course, and saved results.

``out/course/template`` is the assignment as an nbgrader course (``generate_assignment``, a fresh
gradebook), prepared once and re-used while its fingerprint (:mod:`.fingerprint`) holds; each
student is graded in a copy of it, ``out/course/students/<id>``, whose ``result.json`` keeps the
row with the fingerprint and the submission's hash that make it re-usable.
"""

import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .. import course_root
from ..errors import GraderError
from .assignment import Assignment
from .fingerprint import fingerprint
from .processes import run_tool

LOCK_NAME = ".grading.lock"
RESULT_NAME = "result.json"
PACKAGE_SRC = Path(__file__).resolve().parents[2]  # the folder that holds the autograder package


@contextmanager
def lock(out: Path) -> Iterator[None]:
    """Hold ``out/.grading.lock`` (released on exit, or when this process dies): two runs into the
    same folder would grade the same students in the same places."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_NAME, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise GraderError(f"another grading run (pid {holder}) is writing into {out}: wait for it to finish, or "
                              "stop it and run this again (the grades it finished are kept)") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield


def check_db_url(db_url: str) -> None:
    """Raise a clear GraderError unless ``db_url`` is a gradebook nbgrader can open."""
    if not db_url.startswith(("postgresql+psycopg://", "sqlite:///")):
        raise GraderError("--db-url must be postgresql+psycopg://USER@HOST[:PORT]/DB or sqlite:///PATH, "
                          f"not {db_url!r}")
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(db_url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect ends here, with the reason
        raise GraderError(f"cannot open the gradebook at {db_url}: {type(exc).__name__}: {str(exc)[:300]}") from None


def grading_fingerprint(a: Assignment, cell_timeout: int, db_url: str | None = None,
                        course_config: Path | None = None) -> str:
    """The fingerprint of this assignment graded with these settings by this code (``course_config``:
    the course's ``nbgrader_config.py``, default the checkout's; a cluster worker gets the coordinator's)."""
    root = course_root()
    if course_config is None and root:
        course_config = root / "nbgrader_config.py"
    return fingerprint(a.source, f"timeout={int(cell_timeout)} db={db_url or 'sqlite'}", course_config=course_config)


def write_nbgrader_config(course_dir: Path, cell_timeout: int, skip: Sequence[tuple[str, str]] = (),
                          extra: dict[str, str] | None = None, db_url: str | None = None) -> None:
    """Write ``course_dir/nbgrader_config.py``: :func:`.nbconfig.configure` for this private course,
    the cells to skip (``(NOTEBOOK:INDEX, why)``) and ``extra`` settings (``Class.trait: value``)."""
    skip_cells = [str(key) for key, _ in skip]
    skip_reasons = [str(why) for _, why in skip]
    (course_dir / "nbgrader_config.py").write_text(
        "# Written by `python -m autograder grade`: a private nbgrader course of this grading run.\n"
        "import sys\n"
        f"sys.path.insert(0, {str(PACKAGE_SRC)!r})\n"
        "from autograder.grader.nbconfig import configure\n"
        f"configure(get_config(), {str(course_dir)!r}, source='source', release='release', work='.', "
        f"db_url={db_url!r}, cell_timeout={int(cell_timeout)}, skip_cells={skip_cells!r}, "
        f"skip_reasons={skip_reasons!r})\n"
        + "".join(f"get_config().{key} = {value!r}\n" for key, value in (extra or {}).items())
    )


def prepare_template(a: Assignment, work: Path, cell_timeout: int, db_url: str | None = None,
                     course_config: Path | None = None) -> str:
    """Prepare ``work/template``, the assignment as an nbgrader course with a gradebook; return its fingerprint.

    Re-used while the assignment, the cell timeout and the grading code are unchanged; otherwise
    rebuilt, and every student's earlier result becomes stale (its fingerprint no longer matches).
    """
    fp = grading_fingerprint(a, cell_timeout, db_url, course_config)
    tdir = work / "template"
    stamp = tdir / "ready.json"
    try:
        if json.loads(stamp.read_text())["fingerprint"] == fp:
            return fp
    except (OSError, ValueError, KeyError):
        pass
    if work.exists():
        shutil.rmtree(work)
    (tdir / "source").mkdir(parents=True)
    shutil.copytree(a.source, tdir / "source" / a.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    write_nbgrader_config(tdir, cell_timeout, db_url=db_url)
    rc, output = run_tool(["generate_assignment", a.name, "--force"], cwd=tdir,
                          log_path=tdir / "generate_assignment.log")
    if rc != 0:
        raise GraderError(f"nbgrader generate_assignment failed (see {tdir / 'generate_assignment.log'}):\n"
                          f"{output[-2000:]}")
    stamp.write_text(json.dumps({"fingerprint": fp}))
    return fp


TEMPLATE_OWN = ("ready.json", "nbgrader_config.py", "generate_assignment.log")  # written where the template lies


def template_files(work: Path) -> list[Path]:
    """The files of the prepared template ``work/template`` that another machine can use as they are
    (not its stamp, log or generated config, which name this machine's folders)."""
    tdir = work / "template"
    return [p for p in sorted(tdir.rglob("*")) if p.is_file() and not (p.parent == tdir and p.name in TEMPLATE_OWN)]


def install_template(a: Assignment, prepared: Path, work: Path, cell_timeout: int,
                     course_config: Path | None = None) -> str:
    """Make ``work/template`` from :func:`template_files` of a template prepared elsewhere (a cluster
    worker gets the coordinator's, instead of running ``generate_assignment`` again); return the
    fingerprint of this machine's code and settings, which the caller compares with the preparer's.
    """
    fp = grading_fingerprint(a, cell_timeout, None, course_config)
    tdir = work / "template"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(prepared, tdir)
    write_nbgrader_config(tdir, cell_timeout)
    (tdir / "ready.json").write_text(json.dumps({"fingerprint": fp}))
    return fp


def save_result(student_dir: Path, fp: str, digest: str, row: dict[str, object], feedback: list[str],
                messages: dict[str, str] | None = None) -> None:
    """Write ``result.json`` atomically (a run killed half-way leaves no half-result behind); ``messages``
    (grade id -> why points were lost) are kept next to the row, which is ``grades.csv``'s."""
    tmp = student_dir / f"{RESULT_NAME}.tmp"
    tmp.write_text(json.dumps({"fingerprint": fp, "digest": digest, "row": row, "feedback": feedback,
                               "messages": dict(messages or {})}))
    tmp.replace(student_dir / RESULT_NAME)


def load_result(student_dir: Path, fp: str, digest: str) -> dict[str, object] | None:
    """The saved row, if it was graded with fingerprint ``fp`` from a submission with hash ``digest``
    and its feedback pages are all there; else None."""
    try:
        saved = json.loads((student_dir / RESULT_NAME).read_text())
    except (OSError, ValueError):
        return None
    if saved.get("fingerprint") != fp or saved.get("digest") != digest:
        return None
    if not all((student_dir / "feedback" / name).is_file() for name in saved.get("feedback", [])):
        return None
    return saved["row"]


def load_messages(student_dir: Path) -> dict[str, str]:
    """The messages saved with the result (grade id -> why points were lost); {} where there are none."""
    try:
        saved = json.loads((student_dir / RESULT_NAME).read_text()).get("messages") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(gid): str(why) for gid, why in saved.items()} if isinstance(saved, dict) else {}
