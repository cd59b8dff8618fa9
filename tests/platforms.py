"""Build the downloads learning platforms give an instructor, from given notebooks: folders and zips.

Each builder writes what the platform's "download all submissions" holds for a class of
:class:`Person` (each with their uploads, oldest first), following the platform's naming rules
as its own code or documentation gives them (the URL is on each builder; the grader's readers in
``autograder/grader/intake/`` cite the same sources). ``as_zip=True`` gives the zip the platform
serves, else the folder an instructor gets by extracting it.
"""

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import nbformat

Content = bytes | str | nbformat.NotebookNode


@dataclass
class Upload:
    """One submission: the files as the student named them, when, and whether the platform counts it late."""
    files: dict[str, Content] = field(default_factory=dict)
    when: datetime = datetime(2026, 10, 2, 14, 0, 5)
    late: bool = False
    text: str | None = None  # what the student typed into the platform's text box, if anything


@dataclass
class Person:
    first: str
    last: str
    number: int  # the platform's numeric id: Canvas user id, Moodle participant id, Gradescope SID
    username: str  # a login (Blackboard, nbgrader's hub user, the folder of the plain layout)
    uploads: list[Upload] = field(default_factory=list)  # oldest first

    @property
    def email(self) -> str:
        return f"{self.username}@example.edu"

    @property
    def latest(self) -> Upload:
        return self.uploads[-1]


def data(content: Content) -> bytes:
    if isinstance(content, nbformat.NotebookNode):
        return nbformat.writes(content).encode()
    return content.encode() if isinstance(content, str) else content


def write(entries: dict[str, bytes], dest: Path, as_zip: bool) -> Path:
    """``entries`` (relative path -> bytes; a path ending in "/" is an empty folder) as a folder or a zip."""
    if as_zip:
        dest = dest.with_suffix(".zip")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in entries.items():
                zf.writestr(name, content)
        return dest
    for name, content in entries.items():
        path = dest / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return dest


def folders(people: list[Person], dest: Path, as_zip: bool = False) -> Path:
    """A folder per student (named by username) holding their latest upload; an empty folder if none."""
    entries: dict[str, bytes] = {}
    for p in people:
        entries[f"{p.username}/"] = b""
        for name, content in (p.latest.files if p.uploads else {}).items():
            entries[f"{p.username}/{name}"] = data(content)
    return write(entries, dest, as_zip)


def nbgrader(people: list[Person], assignment: str, dest: Path, as_zip: bool = False,
             others: dict[str, dict[str, Content]] | None = None) -> Path:
    """``submitted/<student>/<assignment>/`` as ``nbgrader collect`` leaves it: the latest submission
    with its ``timestamp.txt`` (https://nbgrader.readthedocs.io/en/stable/user_guide/managing_assignment_files.html);
    ``others``: another assignment's files per username (collected earlier, in the same folder)."""
    entries: dict[str, bytes] = {}
    for p in people:
        entries[f"submitted/{p.username}/"] = b""
        if p.uploads:
            base = f"submitted/{p.username}/{assignment}"
            entries[f"{base}/timestamp.txt"] = p.latest.when.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode()
            for name, content in p.latest.files.items():
                entries[f"{base}/{name}"] = data(content)
    for username, files in (others or {}).items():
        for name, content in files.items():
            entries[f"submitted/{username}/{name}"] = data(content)
    return write(entries, dest, as_zip)


def canvas_sortable(p: Person) -> str:
    """The sortable name as Canvas puts it in file names: "Last, First" downcased, non-word characters removed
    (``get_user_name``/``sanitize_user_name``/``sanitize_file_name`` in lib/content_zipper.rb)."""
    name = re.sub(r"_(\d+)_", r"\1", f"{p.last}, {p.first}").lower()
    return re.sub(r"[^\w]", "", name)


def canvas(people: list[Person], dest: Path, as_zip: bool = True) -> Path:
    """Canvas "Download Submissions": each student's latest submission, flat,
    ``<sortablename>[_LATE]_<userid>_<fileid>_<file name>``, a text entry as ``..._<userid>_text.html``
    (https://github.com/instructure/canvas-lms/blob/master/lib/content_zipper.rb). A file uploaded
    again under a name the student already used is numbered ``-1``, ``-2`` before its extension
    (``Attachment.make_unique_filename``, app/models/attachment.rb)."""
    entries: dict[str, bytes] = {}
    file_id = 90000
    for p in people:
        if not p.uploads:
            continue
        up = p.latest
        prefix = "_".join([canvas_sortable(p)] + (["LATE"] if up.late else []) + [str(p.number)])
        used = [n for earlier in p.uploads[:-1] for n in earlier.files]
        for name, content in up.files.items():
            file_id += 1
            again = used.count(name)
            if again:
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}-{again}.{ext}" if dot else f"{name}-{again}"
            entries[f"{prefix}_{file_id}_{name}"] = data(content)
        if up.text is not None:
            entries[f"{prefix}_text.html"] = f"<html><body>{up.text}</body></html>".encode()
    return write(entries, dest, as_zip)


def moodle(people: list[Person], dest: Path, as_zip: bool = True, trailing_underscore: bool = False,
           in_folders: bool = True) -> Path:
    """Moodle "Download all submissions": the latest attempt of each participant,
    ``<Full Name>_<participant id>_assignsubmission_file/<file>`` (Moodle 4.1+; 3.1-4.0 end the
    folder name with ``_``), ``..._assignsubmission_onlinetext/onlinetext.html`` for typed text,
    or flat ``..._assignsubmission_file_<file>`` when not downloaded in folders
    (https://github.com/moodle/moodle/blob/main/mod/assign/classes/downloader.php)."""
    entries: dict[str, bytes] = {}
    for p in people:
        if not p.uploads:
            continue
        up = p.latest
        prefix = f"{p.first} {p.last}".replace("_", " ") + f"_{p.number}"
        end = "_" if trailing_underscore else ""
        for name, content in up.files.items():
            path = (f"{prefix}_assignsubmission_file{end}/{name}" if in_folders
                    else f"{prefix}_assignsubmission_file_{name}")
            entries[path] = data(content)
        if up.text is not None:
            entries[f"{prefix}_assignsubmission_onlinetext{end}/onlinetext.html"] = up.text.encode()
    return write(entries, dest, as_zip)


def blackboard(people: list[Person], title: str, dest: Path, as_zip: bool = True) -> Path:
    """Blackboard Learn "Assignment File Download" with all attempts: per attempt
    ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`` and the receipt
    ``<assignment>_<username>_attempt_<...>.txt`` starting ``Name: <Full Name> (<username>)``
    (as https://github.com/vangef/BBGradebookOrganiser reads them)."""
    entries: dict[str, bytes] = {}
    for p in people:
        for up in p.uploads:
            stamp = f"{title}_{p.username}_attempt_{up.when:%Y-%m-%d-%H-%M-%S}"
            listing = "".join(f"\tOriginal filename: {name}\n\tFilename: {stamp}_{name}\n" for name in up.files)
            entries[f"{stamp}.txt"] = (
                f"Name: {p.first} {p.last} ({p.username})\nAssignment: {title}\n"
                f"Date Submitted: {up.when:%A, %d %B %Y %H:%M:%S} o'clock UTC\nCurrent Mark: Needs Marking\n\n"
                f"Submission Field:\n{up.text or 'There is no student submission text data for this assignment.'}\n\n"
                f"Comments:\nThere are no student comments for this assignment.\n\nFiles:\n{listing}").encode()
            for name, content in up.files.items():
                entries[f"{stamp}_{name}"] = data(content)
    return write(entries, dest, as_zip)


def gradescope(people: list[Person], dest: Path, as_zip: bool = True, assignment_id: int = 424242,
               groups: list[list[Person]] | None = None) -> Path:
    """Gradescope "Export Submissions": ``assignment_<id>_export/`` with ``submission_metadata.yml`` and a
    ``submission_<id>/`` folder per active submission, the YAML keyed as Gradescope's Ruby writes it
    (as otter-grader reads it: https://github.com/ucbds-infra/otter-grader, otter/grade/metadata.py).
    ``groups``: people who submitted together (one folder, every member in its submitters)."""
    root = f"assignment_{assignment_id}_export"
    entries: dict[str, bytes] = {}
    meta = []
    submissions = [[p] for p in people if p.uploads] + [g for g in (groups or []) if g[0].uploads]
    for i, members in enumerate(submissions):
        up = members[0].latest
        folder = f"submission_{7000000 + i}"
        created = (up.when - timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S.123456000 -07:00")
        meta.append(f"{folder}:\n  :submitters:\n"
                    + "".join(f"  - :name: {m.first} {m.last}\n    :sid: '{m.number}'\n    :email: {m.email}\n"
                              for m in members)
                    + f"  :created_at: {created}\n  :score: 0.0\n")
        entries[f"{root}/{folder}/"] = b""
        for name, content in up.files.items():
            entries[f"{root}/{folder}/{name}"] = data(content)
    entries[f"{root}/submission_metadata.yml"] = "".join(meta).encode()
    return write(entries, dest, as_zip)
