"""`grade --db-url` with a real PostgreSQL server that the test starts (Debian's postgresql).

Where the server is not installed, the test installs Debian's `postgresql` package when it runs
as root with apt-get; it skips, saying why, only where that is impossible.
"""

import csv

import pytest

import pgserver

import submissions as subs
from conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

A, NB = "01_rnn_forward", "rnn_forward"
MAX = 11.0


@pytest.fixture(scope="module")
def postgres():
    try:
        with pgserver.temporary_server() as url:
            yield url
    except pgserver.Unavailable as exc:
        pytest.skip(str(exc))


def test_a_class_graded_into_postgresql(postgres, tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    subs.write(subs.correct_submission(A, NB), folder / "ada" / f"{NB}.ipynb")
    subs.write(subs.correct_submission(A, NB, {"output_forward": [("h @ Why + by", "h @ Why")]}),
               folder / "cyd" / f"{NB}.ipynb")
    subs.raw((subs.ROOT / "exercises" / A / f"{NB}.ipynb").read_text(), folder / "ben" / f"{NB}.ipynb")
    proc = run_cli("grade", A, folder, "--out", out, "--timeout", 30, "--workers", 2, "--db-url", postgres)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv") as f:
        rows = {r["student"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"ada": MAX, "ben": 0.0, "cyd": MAX - 1}

    # The shared gradebook holds the same grades, for every grader or machine that opens it.
    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        assert {s.id for s in gb.students} == {"ada", "ben", "cyd"}
        assert {sid: gb.find_submission(A, sid).score for sid in ("ada", "ben", "cyd")} == rows


def test_a_bad_db_url_is_a_clear_error(tmp_path):
    (tmp_path / "ada").mkdir()
    proc = run_cli("grade", A, tmp_path, "--out", tmp_path / "out", "--db-url", "mysql://nope")
    assert proc.returncode == 2 and "--db-url must be" in proc.stderr
    proc = run_cli("grade", A, tmp_path, "--out", tmp_path / "out",
                   "--db-url", "postgresql+psycopg://grader@/course?host=/nonexistent&port=1")
    assert proc.returncode == 2 and "cannot open the gradebook" in proc.stderr
