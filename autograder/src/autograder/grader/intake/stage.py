"""From the students a layout found to the grader's :class:`Student` records, their files copied aside.

Each student's newest attempt is chosen (the row says so when there were several), and its
notebooks are copied into ``scratch/intake/<id>/`` under the names they are graded as
(:func:`~.scan.copy_bounded`: no link followed, nothing read past the bounds). The grader then
reads only these copies: a file a student changes after intake (in a shared folder) cannot
change what is graded, and the hash that decides whether a kept result is still valid is the
hash of exactly what was graded.
"""

import shutil
from pathlib import Path, PurePosixPath

from ...errors import GraderError
from ..submissions import Student, student_id, submission_digest
from .model import Attempt, Found, Skipped, Tree
from .scan import copy_bounded
from .unzip import MAX_FILE_BYTES, MAX_TOTAL_BYTES, mb


def newest(found: Found) -> tuple[Attempt, list[str]]:
    """The attempt graded (the newest), and the note that says so when there were several."""
    if not found.attempts:
        return Attempt(), []
    attempts = sorted(found.attempts, key=lambda a: (a.when, a.tag))
    chosen = attempts[-1]
    if len(attempts) == 1:
        return chosen, []
    return chosen, [f"newest of {len(attempts)} attempts graded ({chosen.shown})"]


def _order(path: Path) -> tuple[int, str]:
    return len(path.parts), str(path)  # a notebook at the top of the submission before one in a sub-folder


def stage(found: list[Found], tree: Tree, dest: Path) -> tuple[list[Student], list[Skipped]]:
    """The students, sorted by id, their chosen notebooks copied under ``dest`` (emptied first);
    and the files left out on the way (older attempts, names graded twice)."""
    max_file, max_total = MAX_FILE_BYTES, MAX_TOTAL_BYTES
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    taken: set[str] = set()
    students, skipped, total = [], [], 0
    for st in sorted(found, key=lambda f: (f.key, f.platform_id)):
        sid = student_id(st.key, taken)
        chosen, notes = newest(st)
        for attempt in st.attempts:
            if attempt is not chosen:
                skipped += [Skipped(tree.shown(path), f"an older attempt ({attempt.shown})")
                            for path, _ in attempt.files]
        notes = list(dict.fromkeys(st.notes + notes + chosen.notes))
        files = []
        for path, as_name in chosen.files:
            parts = PurePosixPath(as_name).parts
            if not parts or parts[0] == "/" or ".." in parts:  # never from a layout; never written outside
                skipped.append(Skipped(tree.shown(path), f"cannot be graded as {as_name!r}"))
                continue
            target = dest.joinpath(sid, *parts)
            if target.exists():
                skipped.append(Skipped(tree.shown(path), f"another file of this student is graded as {as_name}"))
                continue
            n, why = copy_bounded(tree.root / path, target, tree.root, max_file)
            if why:
                notes.append(why)
                continue
            total += n
            if total > max_total:
                raise GraderError(f"the notebooks graded add up to more than {mb(max_total)}, the bound for one "
                                  "run; grade the class in parts")
            files.append(target)
        files.sort(key=lambda p: _order(p.relative_to(dest / sid)))
        identity = "\0".join([st.label, st.platform_id, *notes])  # a changed note must not keep an old row
        students.append(Student(sid, st.label, files, submission_digest(identity, files), st.platform_id,
                                tuple(notes)))
    return sorted(students, key=lambda s: s.id), skipped
