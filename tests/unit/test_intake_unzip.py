"""Extracting a download: unsafe members refused, only notebooks written, bounds held, zip bombs cheap."""

import shutil
import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest

from autograder.errors import GraderError
from autograder.grader.intake import discover
from autograder.grader.intake.unzip import MAX_FILE_BYTES, _stream, safe_extract

MB = 2**20


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


@pytest.mark.parametrize("member", ["../escaped/rnn_forward.ipynb", "/abs/rnn_forward.ipynb", "ok/../../x.ipynb",
                                    "..\\escaped\\x.ipynb"])
def test_zip_members_that_climb_out_are_refused(tmp_path, member):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ada/rnn_forward.ipynb", "{}")
        zf.writestr(member, "{}")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(GraderError, match="refusing unsafe member"):
        safe_extract(z, dest)
    assert list(dest.iterdir()) == []  # nothing extracted, not even the safe member
    assert not (tmp_path / "escaped").exists()


def test_a_symlink_member_is_refused(tmp_path):
    z = tmp_path / "link.zip"
    info = zipfile.ZipInfo("ada/rnn_forward.ipynb")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(GraderError, match="refusing unsafe member 'ada/rnn_forward.ipynb'"):
        safe_extract(z, tmp_path / "dest")


def test_only_what_grading_reads_is_written(tmp_path):
    z = tmp_path / "d.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ada/rnn_forward.ipynb", "{}")
        zf.writestr("ada/video.mp4", b"\0" * 1000)
        zf.writestr("ada/node_modules/x.js", "x")
        zf.writestr("export/submission_metadata.yml", "{}")
        zf.writestr("A1_ada_attempt_2026-10-02-14-00-05.txt", "Name: Ada (ada)")
        zf.writestr("__MACOSX/ada/._rnn_forward.ipynb", "junk")
    infos = safe_extract(z, tmp_path / "dest")
    assert len(infos) == 6  # every name is listed
    assert sorted(str(p.relative_to(tmp_path / "dest")) for p in (tmp_path / "dest").rglob("*") if p.is_file()) == \
        ["A1_ada_attempt_2026-10-02-14-00-05.txt", "ada/rnn_forward.ipynb", "export/submission_metadata.yml"]


def test_a_member_or_a_total_over_the_bounds_is_refused_before_anything_is_written(tmp_path):
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ada/a.ipynb", b"{" + b" " * 4000 + b"}")
        zf.writestr("bob/a.ipynb", b"{" + b" " * 5000 + b"}")
    with pytest.raises(GraderError, match=r"member 'bob/a.ipynb' declares 5002 bytes, over the 5000 bytes bound"):
        safe_extract(z, tmp_path / "d1", max_file=5000)
    with pytest.raises(GraderError, match=r"declare more than 8000 bytes in all"):
        safe_extract(z, tmp_path / "d2", max_total=8000)
    assert _disk(tmp_path / "d1") == _disk(tmp_path / "d2") == 0


def test_streaming_stops_at_the_bound_whatever_the_zip_declares(tmp_path):
    z = tmp_path / "z.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.ipynb", b"x" * 100_000)
    with zipfile.ZipFile(z) as zf, pytest.raises(GraderError, match=r"'a.ipynb' inflates past 1000 bytes"):
        _stream(zf, zf.getinfo("a.ipynb"), tmp_path / "a.ipynb", 1000, z)


def _bomb(path: Path, inflated: int, declared: int | None = None) -> Path:
    """A zip with one highly compressible notebook of ``inflated`` bytes; ``declared``: the size its
    headers are patched to claim (the local header and the central directory both)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ada/rnn_forward.ipynb", bytes(inflated))
    if declared is not None:
        raw = bytearray(path.read_bytes())
        local = raw.index(b"PK\x03\x04")
        struct.pack_into("<I", raw, local + 22, declared)  # uncompressed size (APPNOTE.TXT 4.3.7)
        central = raw.index(b"PK\x01\x02")
        struct.pack_into("<I", raw, central + 24, declared)  # uncompressed size (APPNOTE.TXT 4.3.12)
        path.write_bytes(bytes(raw))
    return path


def test_a_zip_bomb_costs_seconds_and_megabytes(tmp_path):
    honest = _bomb(tmp_path / "honest.zip", MAX_FILE_BYTES + MB)  # 51 MB of zeros, a few dozen kB zipped
    liar = _bomb(tmp_path / "liar.zip", 200 * MB, declared=1000)  # 200 MB that says 1000 bytes
    assert honest.stat().st_size < MB and liar.stat().st_size < MB
    for z, why in [(honest, "declares 51 MB, over the 50 MB bound"), (liar, "is damaged")]:
        out = tmp_path / f"out_{z.stem}"
        t0 = time.monotonic()
        with pytest.raises(GraderError, match=why):
            discover(z, out)
        assert time.monotonic() - t0 < 5
        assert _disk(out) == 0  # nothing left behind
        shutil.rmtree(out)


def test_bzip2_members_are_not_inflated(tmp_path):
    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("ada/rnn_forward.ipynb", "{}")
    with pytest.raises(GraderError, match="only stored and deflated members are read"):
        safe_extract(z, tmp_path / "d")


def test_a_damaged_zip_is_a_clear_error(tmp_path):
    z = tmp_path / "cut.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(GraderError, match="neither a folder nor a zip|cannot be read as a zip"):
        discover(z, tmp_path / "out")
