"""Canvas "Download Submissions": one flat zip of every student's latest submission.

The names, from Canvas' own code (``lib/content_zipper.rb`` of instructure/canvas-lms,
https://github.com/instructure/canvas-lms/blob/master/lib/content_zipper.rb, ``get_filename`` and
``add_upload_submission``):

    <sortable name>[_LATE]_<user id>_<file id>_<file name>

- the sortable name ("Lovelace, Ada") downcased, with every character that is not a letter, digit
  or underscore removed ("lovelaceada"); ``_<digits>_`` inside it is collapsed so that it cannot be
  mistaken for the ids;
- ``LATE`` when Canvas counts the submission late;
- an anonymously graded assignment has ``anon_<anonymous id>`` instead of the name and user id;
- the second number is the id of the uploaded file (the attachment), then the name it was
  uploaded under. Canvas adds ``-1``, ``-2``... before the extension of a file uploaded again
  under a name the student's files already hold (``Attachment.make_unique_filename``), which is
  what a resubmission usually looks like: ``rnn_forward-1.ipynb``;
- a text entry is ``<name>_<user id>_text.html``, a URL ``<name>_<user id>_link.html``.

Only the latest submission of each student is in the zip, so there is one attempt per student.
"""

import re

from .model import Found, Skipped, Tree, is_notebook

NAME = "canvas"
DESCRIPTION = "Canvas 'Download Submissions': flat files <sortablename>[_LATE]_<userid>_<fileid>_<file name>"

_WHO = r"(?:(?:(?P<alate>LATE)_)?anon_(?P<anon>[A-Za-z0-9]+)|(?P<name>\w*?)_(?:(?P<late>LATE)_)?(?P<uid>\d+))"
FILE = re.compile(rf"^{_WHO}_(?P<fid>\d+)_(?P<orig>.+)$", re.DOTALL)
ENTRY = re.compile(rf"^{_WHO}_(?P<kind>text|link)\.html$")
RENUMBERED = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.ipynb)$", re.IGNORECASE)


def recognises(tree: Tree) -> int:
    return sum(1 for p in tree.top_files() + [p for p, _ in tree.top_refused()] if FILE.match(p) or ENTRY.match(p))


def _key(m: re.Match) -> str:
    return f"anon_{m['anon']}" if m["anon"] else m["uid"]


def _student(students: dict[str, Found], m: re.Match) -> Found:
    if m["anon"]:
        key = _key(m)
        st = students.setdefault(key, Found(key, key, notes=["anonymous Canvas submission: no user id"]))
    else:
        name, uid = m["name"] or "student", m["uid"]
        st = students.setdefault(uid, Found(f"{name}_{uid}", name, platform_id=uid))
    if (m["late"] or m["alate"]) and "Canvas marked the submission LATE" not in st.notes:
        st.notes.append("Canvas marked the submission LATE")
    st.attempt()
    return st


def parse(tree: Tree, assignment: str | None = None) -> tuple[list[Found], list[Skipped]]:
    students: dict[str, Found] = {}
    skipped = [Skipped(tree.shown(d + "/"), "a folder (Canvas downloads are flat)") for d in tree.top_dirs()]
    uploads: dict[tuple[str, str], list[tuple[int, str, str]]] = {}  # (uid, graded as) -> [(file id, path, name)]
    for path, why in [(p, None) for p in tree.top_files()] + tree.top_refused():
        m = FILE.match(path) or ENTRY.match(path)
        if m is None:
            skipped.append(Skipped(tree.shown(path), why or "not named as Canvas names a submitted file"))
            continue
        st = _student(students, m)
        if m.re is ENTRY:
            skipped.append(Skipped(tree.shown(path), f"a Canvas {m['kind']} entry, not a notebook"))
        elif why is not None:
            st.notes.append(f"{m['orig']} {why}")
        elif not is_notebook(path):
            skipped.append(Skipped(tree.shown(path), "not a notebook"))
        else:
            again = RENUMBERED.match(m["orig"])
            as_name = f"{again['stem']}{again['ext']}" if again else m["orig"]
            uploads.setdefault((_key(m), as_name), []).append((int(m["fid"]), path, m["orig"]))
    for (uid, as_name), files in sorted(uploads.items()):
        files.sort()
        *older, (_, path, orig) = files  # the latest upload (the highest file id) is graded
        skipped += [Skipped(tree.shown(p), f"an older upload of {as_name} by the same student") for _, p, _ in older]
        attempt = students[uid].attempts[0]
        attempt.files.append((path, as_name))
        if orig != as_name:
            attempt.notes.append(f"{orig} graded as {as_name} (Canvas numbers a file uploaded again under the "
                                 "same name)")
    return list(students.values()), skipped
