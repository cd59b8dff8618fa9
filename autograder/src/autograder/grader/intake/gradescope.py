"""Gradescope "Export Submissions": a folder per submission and ``submission_metadata.yml`` naming who made it.

The shape (as Gradescope exports it and otter-grader reads it, ``otter/grade/metadata.py`` of
https://github.com/ucbds-infra/otter-grader, ``GradescopeParser``)::

    assignment_<id>_export/
        submission_metadata.yml
        submission_<id>/<the files the students uploaded>

and the metadata, one entry per submission folder, written by Ruby (hence the colons)::

    submission_12345:
      :submitters:
      - :name: Ada Lovelace
        :sid: '1001'
        :email: ada@example.edu
      :created_at: 2026-10-02 14:00:05.123456000 -07:00

A group submission lists every member: each gets a row, graded on the same files. The export
holds each student's active submission; should a student appear in several folders, the newest
(``:created_at:``) is graded and the row says so. A folder missing from the metadata is still
graded (named by its folder); a submitter whose folder is missing gets a row that says so.
"""

import re
from datetime import datetime, timezone
from typing import Any

from ...errors import GraderError
from .folders import collect
from .model import Found, Skipped, Tree

NAME = "gradescope"
DESCRIPTION = "Gradescope 'Export Submissions': submission_metadata.yml and a submission_<id>/ folder per submission"
METADATA = "submission_metadata.yml"
FOLDER = re.compile(r"^submission_\d+$")
METADATA_BYTES = 50 * 2**20


def recognises(tree: Tree) -> int:
    if METADATA not in tree.top_files():
        return 0
    return 1 + sum(1 for d in tree.top_dirs() if FOLDER.match(d))


def _get(entry: Any, key: str) -> Any:
    """A value of Gradescope's Ruby-flavoured YAML, whose keys are written ``:key``."""
    if not isinstance(entry, dict):
        return None
    return entry.get(f":{key}", entry.get(key))


def created(value: Any) -> str:
    """``:created_at:`` as sortable UTC text ("2026-10-02 21:00:05 UTC"), or "" when it cannot be read."""
    if isinstance(value, datetime):
        when = value
    else:
        text = re.sub(r"(\.\d{6})\d*", r"\1", str(value or "").strip())  # Ruby writes nanoseconds
        try:
            when = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f %z")
        except ValueError:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                return ""
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def load_metadata(tree: Tree) -> dict:
    import yaml

    path = tree.root / METADATA
    try:
        if path.stat().st_size > METADATA_BYTES:
            raise GraderError(f"{tree.shown(METADATA)} is over {METADATA_BYTES // 2**20} MB; refused")
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, yaml.YAMLError) as exc:
        raise GraderError(f"{tree.shown(METADATA)} cannot be read as Gradescope's submission metadata: "
                          f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise GraderError(f"{tree.shown(METADATA)} is not Gradescope's submission metadata (a mapping from "
                          "submission folders to their submitters)")
    return data


def parse(tree: Tree, assignment: str | None = None) -> tuple[list[Found], list[Skipped]]:
    meta = load_metadata(tree)
    skipped = [Skipped(tree.shown(p), "not a submission's folder") for p in tree.top_files() if p != METADATA]
    skipped += [Skipped(tree.shown(p), why) for p, why in tree.top_refused()]
    folders = set(tree.top_dirs())
    students: dict[str, Found] = {}
    for folder in sorted(folders | {str(k) for k in meta}):
        entry = meta.get(folder)
        if folder in folders and not FOLDER.match(folder) and entry is None:
            skipped.append(Skipped(tree.shown(folder + "/"), "not a submission's folder"))
            continue
        people = [p for p in (_get(entry, "submitters") or []) if isinstance(p, dict)]
        if not people:  # a folder nobody is named for: still graded, under its own name
            people = [{":name": folder}]
        when = created(_get(entry, "created_at"))
        for person in people:
            name = str(_get(person, "name") or "").strip()
            sid = str(_get(person, "sid") or "").strip()
            email = str(_get(person, "email") or "").strip()
            ident = sid or email
            key = ident or name or folder
            st = students.setdefault(key, Found(f"{name}_{ident}" if name and ident else key, name or key,
                                                platform_id=ident))
            attempt = st.attempt(when, folder)
            if entry is None:
                st.notes.append(f"{folder} is not in {METADATA}")
            if folder in folders:
                collect(tree, folder, st, attempt, skipped)
            else:
                attempt.notes.append(f"{folder}, named in {METADATA}, is missing from the export")
    return list(students.values()), skipped
