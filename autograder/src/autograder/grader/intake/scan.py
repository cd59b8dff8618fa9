"""A submissions folder as a :class:`~.model.Tree`, read without following anything out of it.

A shared submissions folder can be written by students; one could leave a symbolic link to the
instructor's own notebook in it, or a fifo that blocks whoever reads it. So the walk never follows
a symbolic link (a link is listed as refused, with why), lists fifos, sockets and devices as
refused, and stops at :data:`~.unzip.MAX_ENTRIES` entries (a folder that large is not a class's
submissions: most likely the wrong folder was given). :func:`copy_bounded` later reads each file
graded with the same care.
"""

import errno
import os
import stat
from pathlib import Path

from ...errors import GraderError
from .model import Tree
from .unzip import MAX_ENTRIES, is_junk, mb

LINK = "is a symbolic link; not followed"
NOT_A_FILE = "is not a regular file; not read"
OUTSIDE = "resolves outside the submissions folder; not followed"


def scan(folder: Path) -> Tree:
    """Every entry under ``folder`` (itself resolved: the instructor chose it), junk left out."""
    root = Path(folder).resolve()
    files: list[str] = []
    dirs: list[str] = []
    refused: list[tuple[str, str]] = []
    todo, seen = [""], 0
    while todo:
        rel = todo.pop()
        try:
            with os.scandir(root / rel) as entries:
                listing = list(entries)
        except OSError as exc:
            if not rel:
                raise GraderError(f"{root} cannot be read: {exc.strerror}") from None
            refused.append((rel, f"cannot be read ({exc.strerror})"))
            continue
        for entry in listing:
            if is_junk(entry.name):
                continue
            seen += 1
            if seen > MAX_ENTRIES:
                raise GraderError(f"{root} holds more than {MAX_ENTRIES} files and folders: that is not a class's "
                                  "submissions (is it the right folder?)")
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                refused.append((path, LINK))
            elif entry.is_dir(follow_symlinks=False):
                dirs.append(path)
                todo.append(path)
            elif entry.is_file(follow_symlinks=False):
                files.append(path)
            else:
                refused.append((path, NOT_A_FILE))
    return Tree(root, tuple(sorted(files)), tuple(sorted(dirs)), tuple(sorted(refused)))


def copy_bounded(src: Path, dest: Path, root: Path, limit: int) -> tuple[int, str | None]:
    """Copy ``src`` (which must lie under ``root``) to ``dest``, reading at most ``limit`` bytes;
    return (bytes copied, None), or (0, why it was not: "<name> is a symbolic link; ...").

    The file is opened without following a final symbolic link and without blocking (a fifo), and
    the path the opened file really has (``/proc/self/fd``) must lie under ``root``: a folder that
    was swapped for a link after the walk cannot lead it out of the submissions folder.
    """
    name = src.name
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(src, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return 0, f"{name} {LINK}"
        return 0, f"{name} cannot be read ({exc.strerror})"
    with os.fdopen(fd, "rb") as f:
        real = _real_path(fd)
        if real is not None and not _inside(real, root.resolve()):
            return 0, f"{name} {OUTSIDE}"
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return 0, f"{name} {NOT_A_FILE}"
        if st.st_size > limit:
            return 0, f"{name} is {mb(st.st_size)}, over the {mb(limit)} bound for one notebook; not read"
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        return 0, f"{name} is over the {mb(limit)} bound for one notebook; not read"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return len(data), None


def _real_path(fd: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:  # no /proc: the O_NOFOLLOW open and the walk's refusal of links remain
        return None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
