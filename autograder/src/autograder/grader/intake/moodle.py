"""Moodle "Download all submissions": a folder (or a name prefix) per participant and plugin.

The names, from Moodle's own code (``mod/assign/classes/downloader.php``, ``get_student_prefix`` and
``load_submissionplugin_filelist``, https://github.com/moodle/moodle/blob/main/mod/assign/classes/downloader.php;
before Moodle 4.1 the same in ``mod/assign/locallib.php``):

    <Full Name>_<participant id>_assignsubmission_file[_]/<path>/<file name>    (in folders: the default)
    <Full Name>_<participant id>_assignsubmission_file_<file name>               (flat)

- underscores in the full name are replaced by spaces, so the name holds none; with blind marking
  the name is "Participant"; a team submission has the group's name and id instead;
- the participant id is the assignment's "unique id for the user", the number the offline grading
  worksheet shows as "Participant <id>";
- other plugins give other folders: ``assignsubmission_onlinetext`` holds ``onlinetext.html``;
- Moodle 3.1 to 4.0 end the folder name with ``_`` (``..._assignsubmission_file_/``), 4.1 and
  later do not; both are read.

Only the latest submission (attempt) of each participant is in the download.
"""

import re

from .folders import collect
from .model import Found, Skipped, Tree, is_notebook

NAME = "moodle"
DESCRIPTION = ("Moodle 'Download all submissions': <Full Name>_<participant id>_assignsubmission_file[_]/<file> "
               "(or <Full Name>_<participant id>_assignsubmission_file_<file> when not in folders)")

_WHO = r"^(?P<name>[^_/]*?)(?:_(?P<pid>\d+))?_(?P<plugin>assignsubmission_[a-z]+)"
FOLDER = re.compile(rf"{_WHO}_?$")
FLAT = re.compile(rf"{_WHO}_(?P<orig>.+)$", re.DOTALL)


def recognises(tree: Tree) -> int:
    return (sum(1 for d in tree.top_dirs() if FOLDER.match(d))
            + sum(1 for f in tree.top_files() if FLAT.match(f) and not FOLDER.match(f)))


def _student(students: dict[str, Found], m: re.Match) -> Found:
    name, pid = m["name"] or "Participant", m["pid"] or ""
    key = f"{name}_{pid}" if pid else name
    label = f"{name} {pid}" if name == "Participant" and pid else name  # blind marking: Moodle's own label
    st = students.setdefault(key, Found(key, label, platform_id=pid))
    st.attempt()
    return st


def parse(tree: Tree, assignment: str | None = None) -> tuple[list[Found], list[Skipped]]:
    students: dict[str, Found] = {}
    skipped: list[Skipped] = []
    for d in tree.top_dirs():
        m = FOLDER.match(d)
        if m is None:
            skipped.append(Skipped(tree.shown(d + "/"), "not named as Moodle names a submission folder"))
            continue
        st = _student(students, m)
        if m["plugin"] == "assignsubmission_file":
            collect(tree, d, st, st.attempts[0], skipped)
        else:  # online text, comments...: nothing to grade, but the participant submitted
            for path in tree.under(d).files:
                skipped.append(Skipped(tree.shown(f"{d}/{path}"), f"Moodle {m['plugin']}, not a file submission"))
    for path, why in [(p, None) for p in tree.top_files()] + tree.top_refused():
        if why is not None and FOLDER.match(path):  # a participant's folder that is a link: a row says so
            _student(students, FOLDER.match(path)).notes.append(f"{path} {why}")
            continue
        m = FLAT.match(path) if FOLDER.match(path) is None else None
        if m is None:
            skipped.append(Skipped(tree.shown(path), why or "not named as Moodle names a submitted file"))
            continue
        st = _student(students, m)
        if why is not None:
            st.notes.append(f"{m['orig']} {why}")
        elif m["plugin"] != "assignsubmission_file" or not is_notebook(m["orig"]):
            skipped.append(Skipped(tree.shown(path), "not a notebook"))
        else:
            st.attempts[0].files.append((path, m["orig"]))
    return list(students.values()), skipped
