"""Reference runs: execute an instructor notebook in full (not grading) mode and keep its results.

Chapter 6's last cell trains the classifier for real (minutes, skipped while grading) and writes
its figures to a JSON file. ``python -m autograder reference`` runs the instructor notebook that
way and keeps the executed notebook and the results under ``_build/reference/<assignment>/``,
where the book's chapter page reads them. ``make book`` runs it when the notebook changed.
"""

import os
import shutil
import time
from pathlib import Path

import nbformat

from . import course_root
from .errors import AutograderError
from .training import RESULTS_ENV

# Assignments whose instructor notebook has a full run whose results the book shows.
REFERENCE_RUNS = ["06_mnist_classifier"]


class ReferenceRunError(AutograderError):
    """The reference run failed; the message names the cell."""


def reference_dir(assignment, root=None) -> Path:
    return Path(root or course_root()) / "_build" / "reference" / assignment


def _invalidate_book_cache(root: Path, assignment: str, log):
    """Forget cached executions of the book pages that read this run's results, so they re-run."""
    cache_dir = root / "_build" / ".jupyter_cache"
    if not cache_dir.is_dir():
        return
    try:
        from jupyter_cache import get_cache

        cache = get_cache(str(cache_dir))
        for record in cache.list_cache_records():
            if assignment in str(record.uri):
                cache.remove_cache(record.pk)
                log(f"  the book will re-execute {record.uri}")
    except Exception as exc:  # noqa: BLE001 - a stale page is better than no build; say so
        log(f"  warning: could not clear the cached page of {assignment} ({exc}); "
            f"delete {cache_dir} if the book shows old results")


def run(assignment, root=None, timeout=3600, log=print):
    """Execute ``solutions/<assignment>/*.ipynb`` in full mode; return the results folder."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    root = Path(root or course_root())
    source = root / "solutions" / assignment
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise ReferenceRunError(f"no instructor notebook in {source}")
    out = reference_dir(assignment, root)
    scratch = out.with_name(out.name + ".running")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env_before = {k: os.environ.get(k) for k in (RESULTS_ENV, "NBGRADER_EXECUTION")}
    os.environ[RESULTS_ENV] = str(scratch)
    os.environ.pop("NBGRADER_EXECUTION", None)  # the full run, not the grading one
    try:
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            log(f"reference run of {assignment}/{path.name} (full mode; results in {out})")
            t0 = time.monotonic()
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(source)}})
            try:
                client.execute()
            except CellExecutionError as exc:
                nbformat.write(nb, scratch / path.name)
                raise ReferenceRunError(f"{path.name} failed in its full run (executed copy in {scratch}):\n"
                                        f"{str(exc)[-3000:]}") from None
            nbformat.write(nb, scratch / path.name)
            log(f"  done in {time.monotonic() - t0:.0f} s")
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    shutil.rmtree(out, ignore_errors=True)
    scratch.rename(out)
    _invalidate_book_cache(root, assignment, log)
    return out
