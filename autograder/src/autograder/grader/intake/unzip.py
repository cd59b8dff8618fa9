"""Bounded, safe extraction of a downloaded zip: only what grading reads, never past the bounds.

A zip is untrusted input (a student's file inside it, or the whole download, may be crafted), so:

- the whole zip is refused if any member is absolute, climbs out with ``..`` or is a symbolic link;
- only :func:`wanted` members are written (notebooks, Gradescope's ``submission_metadata.yml``,
  Blackboard's receipts); every other name is still listed, so that layouts see who submitted
  what and the report says what was left out;
- a wanted member over :data:`MAX_FILE_BYTES`, or wanted members over :data:`MAX_TOTAL_BYTES` in
  all, refuse the zip: first as the zip declares them (before anything is written), then again
  while streaming, because declared sizes can lie (a member that inflates past its bound is cut
  off at the bound, everything extracted is removed, and the zip is refused);
- only stored and deflated members are read (bzip2 and lzma decompress without an output limit
  per read in :mod:`zipfile`); encrypted members are refused.

A zip bomb therefore costs the time to inflate at most the bound of one member and the disk of
what was extracted before it: seconds and megabytes.
"""

import contextlib
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ...errors import GraderError
from .model import Tree, is_notebook

MB = 2**20
MAX_FILE_BYTES = 50 * MB  # one notebook (or metadata file) extracted or copied; 50 MB holds plots and outputs
MAX_TOTAL_BYTES = 1024 * MB  # everything a run extracts or copies: 1 GB is 200 notebooks of 5 MB
MAX_ENTRIES = 100_000  # names a zip or a folder may hold; more is not a class's download
CHUNK = 64 * 1024  # bytes read at a time while streaming
SYMLINK = 0o120000  # the file type bits of a symbolic link, in a zip member's external attributes
METADATA_NAMES = {"submission_metadata.yml"}  # Gradescope's list of who submitted what
# Blackboard's receipt of one attempt: <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt
RECEIPT = re.compile(r"_attempt_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.txt$")
READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n} bytes"


def is_junk(path: str) -> bool:
    """Operating-system debris, looked through everywhere: dot files and folders, ``__MACOSX``."""
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(path).parts)


def wanted(path: str) -> bool:
    """Whether grading reads this file (the rest is listed, never written)."""
    name = PurePosixPath(path).name
    return is_notebook(name) or name in METADATA_NAMES or bool(RECEIPT.search(name))


def check_member(zip_path: Path, info: zipfile.ZipInfo) -> None:
    """Refuse the zip for a member that could write outside the folder it is extracted to."""
    name = info.filename
    if (name.startswith(("/", "\\")) or ".." in PurePosixPath(name).parts or ".." in name.split("\\")
            or (info.external_attr >> 16) & 0o170000 == SYMLINK):
        raise GraderError(f"{zip_path}: refusing unsafe member {name!r}")


def safe_extract(zip_path: Path, dest: Path, keep=wanted, max_file: int = MAX_FILE_BYTES,
                 max_total: int = MAX_TOTAL_BYTES) -> list[zipfile.ZipInfo]:
    """Extract the members of ``zip_path`` that ``keep`` accepts into ``dest``, within the bounds;
    return every member (also those not extracted). Nothing is left in ``dest`` when it refuses."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GraderError(f"{zip_path} cannot be read as a zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise GraderError(f"{zip_path} holds {len(infos)} entries, more than the {MAX_ENTRIES} a class's "
                              "download can hold; refused")
        for info in infos:
            check_member(zip_path, info)
        todo = [i for i in infos if not i.is_dir() and not is_junk(i.filename) and keep(i.filename)]
        total = 0
        for info in todo:  # the declared sizes, before anything is written
            if info.file_size > max_file:
                raise GraderError(f"{zip_path}: member {info.filename!r} declares {mb(info.file_size)}, over the "
                                  f"{mb(max_file)} bound for one file; refused")
            total += info.file_size
            if total > max_total:
                raise GraderError(f"{zip_path}: the notebooks in it declare more than {mb(max_total)} in all, "
                                  "the bound for one run; refused")
            if info.compress_type not in READABLE:
                raise GraderError(f"{zip_path}: member {info.filename!r} is compressed with method "
                                  f"{info.compress_type}; only stored and deflated members are read")
            if info.flag_bits & 0x1:
                raise GraderError(f"{zip_path}: member {info.filename!r} is encrypted; refused")
        written, done = 0, []
        try:
            for info in todo:
                done.append(dest.joinpath(*PurePosixPath(info.filename).parts))
                written += _stream(zf, info, done[-1], min(max_file, max_total - written), zip_path)
        except BaseException:
            for path in done:  # nothing of a refused zip stays on disk
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
    return infos


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int, zip_path: Path) -> int:
    """Write one member to ``target``, counting the bytes it really inflates to; refuse past ``limit``."""
    n = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(CHUNK):
                n += len(chunk)
                if n > limit:
                    raise GraderError(f"{zip_path}: member {info.filename!r} inflates past {mb(limit)} (it declares "
                                      f"{mb(info.file_size)}); refused")
                out.write(chunk)
    except GraderError:
        raise
    except zipfile.BadZipFile as exc:  # a CRC that does not match: the declared size or the data lied
        raise GraderError(f"{zip_path}: member {info.filename!r} is damaged ({exc}); refused") from None
    except (OSError, RuntimeError, NotImplementedError) as exc:  # a name that is also a folder, ...
        raise GraderError(f"{zip_path}: member {info.filename!r} cannot be extracted ({exc}); refused") from None
    return n


def extract(zip_path: Path, dest: Path) -> Tree:
    """The zip as a :class:`Tree`: wanted files extracted under ``dest`` (emptied first), every name listed."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    infos = safe_extract(zip_path, dest)
    files, dirs = [], set()
    for info in infos:
        name = info.filename.strip("/")
        if not name or is_junk(name):
            continue
        parts = PurePosixPath(name).parts
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        mode = (info.external_attr >> 16) & 0o170000
        if info.is_dir() or mode == stat.S_IFDIR:
            dirs.add(name)
        else:
            files.append(name)
    return Tree(dest, tuple(sorted(set(files))), tuple(sorted(dirs)))
